package attestation

import (
	"bytes"
	"crypto/rand"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/boombuler/barcode/datamatrix"

	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/seal"
)

// testKey is a new signing key and the key ring that trusts it.
func testKey(t testing.TB) (*seal.Signer, seal.KeyRing) {
	t.Helper()
	priv, pub, err := seal.GenerateKey(rand.Reader, "CPAM", "T001", rules.MustDate("2026-01-01"), rules.MustDate("2028-12-31"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal.ParseSigner(priv, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := seal.ParsePublicKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, ring
}

// sampleInputs are every attestation the sample registry gives at the
// sample date for a family request with both mentions.
func sampleInputs(t testing.TB) map[string]AttestationInput {
	t.Helper()
	out := map[string]AttestationInput{}
	for id, c := range loadSampleComptes(t) {
		d := rules.Decide(c, rules.Request{Family: true, ETM: true, C2S: true}, sampleToday)
		if d.Outcome == rules.Issued {
			out[id] = AttestationInput{Compte: c, Decision: d, Reference: "ATT-20261125-" + id[2:], IssuedAt: sampleIssuedAt}
		}
	}
	if len(out) < 5 {
		t.Fatalf("only %d sample attestations", len(out))
	}
	return out
}

// TestSignedRenderRoundTrip renders every sample attestation signed: the
// PDF validates, reads back as before, and its code verifies and names the
// beneficiaries of the table.
func TestSignedRenderRoundTrip(t *testing.T) {
	s, ring := testKey(t)
	r := newRenderer(t).WithSigner(s)
	for id, in := range sampleInputs(t) {
		doc, err := r.Render(in)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		strictContext(t, doc.Bytes)
		qpdfCheck(t, doc.Bytes)
		sum, err := pdftext.ReadAttestation(doc.Bytes)
		if err != nil {
			t.Fatalf("%s: the signed attestation does not read back: %v", id, err)
		}
		code, err := pdftext.ReadCode(doc.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		v, err := ring.Verify(code, sampleToday)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		var inCode, inTable []string
		for _, b := range v.Content.Beneficiaries {
			inCode = append(inCode, b.Prenom)
		}
		for _, b := range sum.Beneficiaries {
			inTable = append(inTable, seal.Fold(b))
		}
		if !slices.Equal(inCode, inTable) || v.Content.Reference != in.Reference {
			t.Errorf("%s: the code names %v (%s), the table %v (%s)", id, inCode, v.Content.Reference, inTable, sum.Reference)
		}
	}
}

// qpdfCheck runs qpdf --check on pdf when qpdf is installed.
func qpdfCheck(t *testing.T, pdf []byte) {
	t.Helper()
	if _, err := exec.LookPath("qpdf"); err != nil {
		return
	}
	f := filepath.Join(t.TempDir(), "a.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qpdf", "--check", f).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check: %v\n%s", err, out)
	}
}

func TestUnsignedRenderHasNoCode(t *testing.T) {
	doc, err := newRenderer(t).Render(peigneFamily(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pdftext.ReadCode(doc.Bytes); !errors.Is(err, pdftext.ErrNoCode) {
		t.Errorf("ReadCode of an unsigned attestation: %v", err)
	}
	if bytes.Contains(doc.Bytes, []byte("/Keywords")) || bytes.Contains(doc.Bytes, []byte("/Subtype /Image")) {
		t.Error("an unsigned attestation carries keywords or an image")
	}
}

func TestSignedRenderIsDeterministic(t *testing.T) {
	s, _ := testKey(t)
	r := newRenderer(t).WithSigner(s)
	a, err := r.Render(peigneFamily(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Render(peigneFamily(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes, b.Bytes) {
		t.Error("two signed renders of one input differ")
	}
}

// TestBigFamilyCode: a family of 8 is whole in the code; one of 30 keeps
// as many as fit and counts the others, and the code still verifies.
func TestBigFamilyCode(t *testing.T) {
	s, ring := testKey(t)
	r := newRenderer(t).WithSigner(s)
	for n, wantMore := range map[int]bool{8: false, 30: true} {
		doc, err := r.Render(bigFamily(t, n))
		if err != nil {
			t.Fatal(err)
		}
		strictContext(t, doc.Bytes)
		code, err := pdftext.ReadCode(doc.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		v, err := ring.Verify(code, sampleToday)
		if err != nil {
			t.Fatal(err)
		}
		c := v.Content
		if len(c.Beneficiaries)+c.More != n || (c.More > 0) != wantMore || len(c.Beneficiaries) < 8 {
			t.Errorf("family of %d: %d in the code, %d left out", n, len(c.Beneficiaries), c.More)
		}
		if strings.Contains(code, "ALD") {
			t.Errorf("family of %d: the code holds a motif", n)
		}
	}
}

// TestCodeDecodesIndependently renders the page at 300 dpi with poppler
// and reads the DataMatrix with libdmtx: the text equals the code attestd
// wrote. Without pdftoppm or dmtxread the test is skipped, unless
// ATTESTD_REQUIRE_DMTX is set (CI installs them).
func TestCodeDecodesIndependently(t *testing.T) {
	for _, tool := range []string{"pdftoppm", "dmtxread"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("ATTESTD_REQUIRE_DMTX") != "" {
				t.Fatalf("%s is not installed (apt-get install poppler-utils dmtx-utils)", tool)
			}
			t.Skipf("%s is not installed (apt-get install poppler-utils dmtx-utils): no independent decode", tool)
		}
	}
	s, _ := testKey(t)
	r := newRenderer(t).WithSigner(s)
	for name, in := range map[string]AttestationInput{"peigne": peigneFamily(t), "eight": bigFamily(t, 8)} {
		doc, err := r.Render(in)
		if err != nil {
			t.Fatal(err)
		}
		want, err := pdftext.ReadCode(doc.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeWithDmtx(t, doc.Bytes); got != want {
			t.Errorf("%s: dmtxread reads\n%q\nattestd wrote\n%q", name, got, want)
		}
	}
}

// decodeWithDmtx renders page 1 of pdf at 300 dpi and returns the first
// DataMatrix dmtxread finds in the top right of it, where the layout puts
// the code (a whole-page scan takes minutes on the text).
func decodeWithDmtx(t *testing.T, pdf []byte) string {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "a.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-r", "300", "-png", "-f", "1", "-l", "1", "-singlefile", f, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	// dmtxread's y range counts from the bottom: -y60% is the top 40%.
	out, err := exec.Command("dmtxread", "-N1", "-x60%", "-y60%", filepath.Join(dir, "page.png")).Output()
	if err != nil {
		t.Fatalf("dmtxread found no code: %v", err)
	}
	return string(out)
}

// TestDataMatrixMatchesBoombuler: the encoder draws the symbols
// github.com/boombuler/barcode draws, at every size it uses, but where a pad
// codeword is 254: boombuler writes 0 there (it takes the pad modulo 254
// where ISO/IEC 16022 subtracts 254 only above 254).
func TestDataMatrixMatchesBoombuler(t *testing.T) {
	compared := 0
	for n := 1; n <= 700; n += 17 {
		text := strings.Repeat("DC04-12 ATTESTATION é", n/20+1)[:n]
		mine, err := dmEncode(text)
		if err != nil {
			t.Fatal(err)
		}
		if padIs254(len(dmEncodeASCII(text)), len(mine)) {
			continue
		}
		compared++
		theirs, err := datamatrix.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		if theirs.Bounds().Dx() != len(mine) {
			t.Fatalf("%d characters: %d modules, boombuler %d", n, len(mine), theirs.Bounds().Dx())
		}
		for y := range mine {
			for x := range mine {
				r, _, _, _ := theirs.At(x, y).RGBA()
				if mine[y][x] != (r < 0x8000) {
					t.Fatalf("%d characters (%d modules): module %d,%d differs", n, len(mine), x, y)
				}
			}
		}
	}
	if compared < 30 {
		t.Errorf("only %d symbols compared", compared)
	}
}

// padIs254 reports whether a pad codeword after used ones in the symbol of
// side modules is 254.
func padIs254(used, side int) bool {
	for _, s := range dmSizes {
		if s.side == side {
			for k := used + 2; k <= s.data(); k++ {
				if 129+(149*k)%253+1 == 254 {
					return true
				}
			}
		}
	}
	return false
}

// TestDataMatrixPNG: the PNG decodes to the modules, quiet zone white.
func TestDataMatrixPNG(t *testing.T) {
	modules, err := dmEncode("DC04CPAM")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(dmPNG(modules, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != len(modules)+4 || img.Bounds().Dy() != len(modules)+4 {
		t.Fatalf("%v for %d modules", img.Bounds(), len(modules))
	}
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			r, _, _, _ := img.At(x, y).RGBA()
			my, mx := y-2, x-2
			dark := my >= 0 && my < len(modules) && mx >= 0 && mx < len(modules) && modules[my][mx]
			if dark != (r < 0x8000) {
				t.Fatalf("pixel %d,%d", x, y)
			}
		}
	}
}
