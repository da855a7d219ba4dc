package seal

import (
	"fmt"
	"strings"

	"github.com/cpam/attestd/rules"
)

// French is what the code says, in plain French, one fact a line: the
// document, its reference and dates, the assuré(e), then each beneficiary
// with his rights and mentions. It ends with a newline.
func (c Content) French() string {
	var b strings.Builder
	b.WriteString("Attestation de droits à l'assurance maladie\n")
	fmt.Fprintf(&b, "Référence : %s\n", c.Reference)
	fmt.Fprintf(&b, "Délivrée le %s, signée le %s par l'émetteur %s\n", c.IssuedOn.French(), c.SignedOn.French(), c.Issuer)
	fmt.Fprintf(&b, "N° de sécurité sociale de l'assuré(e) : %s\n", rules.FormatNIR(c.NIR))
	fmt.Fprintf(&b, "Bénéficiaires (%d) :\n", len(c.Beneficiaries)+c.More)
	for _, p := range c.Beneficiaries {
		name := p.Prenom + " " + p.Nom
		if p.NomUsage != "" {
			name += " (nom d'usage " + p.NomUsage + ")"
		}
		fmt.Fprintf(&b, "- %s, né(e) le %s, rang %d : droits %s\n", name, p.Naissance.French(), p.Rang, p.Droits.French())
		if p.ETM != nil {
			fmt.Fprintf(&b, "    exonération du ticket modérateur %s\n", p.ETM.French())
		}
		if p.C2S != nil {
			fmt.Fprintf(&b, "    complémentaire santé solidaire (C2S) %s\n", p.C2S.French())
		}
	}
	switch {
	case c.More == 1:
		b.WriteString("- et 1 autre bénéficiaire, que le document liste mais que le code ne reprend pas\n")
	case c.More > 1:
		fmt.Fprintf(&b, "- et %d autres bénéficiaires, que le document liste mais que le code ne reprend pas\n", c.More)
	}
	return b.String()
}
