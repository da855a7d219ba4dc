package rules

import (
	"errors"
	"testing"
)

func TestCheckNIR(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  error
	}{
		{"290107511104250", "290107511104250", nil},
		{"2 90 10 75 111 042 50", "290107511104250", nil},
		{"2.90.10.75.111.042.50", "290107511104250", nil},
		{"2 93 08 2A 004 012 64", "293082A00401264", nil},
		{"293082a00401264", "293082A00401264", nil},
		{"290107511104251", "", ErrNIRKey},
		{"2 93 08 2B 004 012 64", "", ErrNIRKey}, // same digits, 2B instead of 2A
		{"29010751110425", "", ErrNIRFormat},
		{"590107511104250", "", ErrNIRFormat},
		{"2901075111042AB", "", ErrNIRFormat},
		{"", "", ErrNIRFormat},
	}
	for _, tt := range tests {
		got, err := CheckNIR(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("CheckNIR(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestNIRKey2B(t *testing.T) {
	// 2B is read as 18 before the modulo.
	k, err := NIRKey("1 85 06 2B 123 087")
	if err != nil {
		t.Fatal(err)
	}
	n := "185062B123087" + k
	if _, err := CheckNIR(n); err != nil {
		t.Fatalf("%s: %v", n, err)
	}
	if _, err := CheckNIR("185062A123087" + k); !errors.Is(err, ErrNIRKey) {
		t.Fatalf("the same key with 2A must be wrong, got %v", err)
	}
}

func TestFormatAndMaskNIR(t *testing.T) {
	if got := FormatNIR("290107511104250"); got != "2 90 10 75 111 042 50" {
		t.Errorf("FormatNIR = %q", got)
	}
	if got := FormatNIR("293082A00401264"); got != "2 93 08 2A 004 012 64" {
		t.Errorf("FormatNIR = %q", got)
	}
	if got := MaskNIR("290107511104250"); got != "2 ** ** ** *** *** 50" {
		t.Errorf("MaskNIR = %q", got)
	}
}

func TestFoldName(t *testing.T) {
	for in, want := range map[string]string{
		"Léa": "LEA", "LÉA": "LEA", "lea": "LEA", "Marie-Ange": "MARIE ANGE", "marie  ange": "MARIE ANGE",
		"Inès": "INES", "Benoît": "BENOIT", "D'Artagnan": "D ARTAGNAN",
	} {
		if got := FoldName(in); got != want {
			t.Errorf("FoldName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPeriod(t *testing.T) {
	p := Period{Start: MustDate("2026-01-01"), End: MustDate("2026-12-31")}
	for d, want := range map[string]bool{"2025-12-31": false, "2026-01-01": true, "2026-12-31": true, "2027-01-01": false} {
		if got := p.Contains(MustDate(d)); got != want {
			t.Errorf("Contains(%s) = %v", d, got)
		}
	}
	open := Period{Start: MustDate("2026-01-01")}
	if !open.Contains(MustDate("2099-01-01")) || open.French() != "depuis le 01/01/2026" {
		t.Errorf("open period: %v %q", open.Contains(MustDate("2099-01-01")), open.French())
	}
}
