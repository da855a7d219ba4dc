package attestation

// Benchmarks of the attestation PDF (go test -run x -bench Render -benchmem
// ./templates/attestation/). Each document has a reference of its own, as in
// production. The font is parsed once per process and its subset made once
// per set of runes beyond ASCII (third_party/gofpdf/ATTESTD.md);
// BenchmarkRenderFamilyNewRunes prices a document whose text brings a rune
// never seen before. The baseline spends its time in maroto's cp1252
// translation, which it rebuilds for every text drawn in a built-in font.

import (
	"fmt"
	"testing"

	"github.com/johnfercher/maroto/v2/pkg/consts/fontfamily"

	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
)

// BenchmarkRenderFamily renders the Peigne family (four beneficiaries, ETM and
// C2S) with the production renderer.
func BenchmarkRenderFamily(b *testing.B) {
	r := newRenderer(b)
	in := peigneFamily(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in.Reference = benchReference(i)
		i++
		if _, err := r.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}

// benchReference is the i-th reference of a benchmark run.
func benchReference(i int) string { return fmt.Sprintf("ATT-20261125-%08X", i) }

// BenchmarkRenderFamilyNewRunes renders the Peigne family with a Latin
// Extended-A letter in the address that the previous 127 documents did not
// use: the font subset is made again for each document.
func BenchmarkRenderFamilyNewRunes(b *testing.B) {
	r := newRenderer(b)
	in := peigneFamily(b)
	addr := *in.Compte.Adresse
	compte := *in.Compte
	compte.Adresse = &addr
	in.Compte = &compte
	first := addr.Lignes[0]
	addr.Lignes = append([]string(nil), addr.Lignes...)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		addr.Lignes[0] = first + " " + string(rune(0x100+i%128))
		in.Reference = benchReference(i)
		i++
		if _, err := r.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderFamilySigned renders the same attestation with its signed
// 2D code: the difference to BenchmarkRenderFamily is what signing costs.
func BenchmarkRenderFamilySigned(b *testing.B) {
	s, _ := testKey(b)
	r := newRenderer(b).WithSigner(s)
	in := peigneFamily(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealCode is the part of the signed render before maroto: the
// code signed (ECDSA P-256) and drawn (DataMatrix and its PNG).
func BenchmarkSealCode(b *testing.B) {
	s, _ := testKey(b)
	r := newRenderer(b).WithSigner(s)
	in := peigneFamily(b)
	b.ReportAllocs()
	for b.Loop() {
		code, err := r.sealCode(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := newCodeImage(code); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderFamilyBaseline renders the same document the way maroto does
// by default: built-in Arial (cp1252 translation on every text call), no
// custom font, no tuning.
func BenchmarkRenderFamilyBaseline(b *testing.B) {
	r := newRenderer(b)
	in := peigneFamily(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in.Reference = benchReference(i)
		i++
		m := newMaroto(attestationConfig(in, fontfamily.Arial, nil), in.IssuedAt)
		if err := (&layout{family: fontfamily.Arial, metrics: r.metrics}).build(m, in); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Generate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderSingle renders a one-beneficiary attestation (Léa).
func BenchmarkRenderSingle(b *testing.B) {
	r := newRenderer(b)
	in := issuedInput(b, "C-BENOIT", rules.Request{Targets: []rules.Target{{FirstName: "Léa"}}}, "ATT-20261125-LEA00001")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderFamilyParallel renders the Peigne family from all cores at
// once: the lock around gofpdf's defaults covers only the document's
// creation.
func BenchmarkRenderFamilyParallel(b *testing.B) {
	r := newRenderer(b)
	in := peigneFamily(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Render(in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkReadAttestation reads the Peigne family's attestation back, as the
// demo's summary and the end-to-end tests do.
func BenchmarkReadAttestation(b *testing.B) {
	doc, err := newRenderer(b).Render(peigneFamily(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pdftext.ReadAttestation(doc.Bytes); err != nil {
			b.Fatal(err)
		}
	}
}
