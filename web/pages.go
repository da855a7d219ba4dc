package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/cpam/attestd/rules"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages are the console's templates, each a page inside layout.html.
type pages struct {
	byName map[string]*template.Template
}

var paris = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Paris"); err == nil {
		return l
	}
	return time.UTC
}()

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(paris).Format("02/01/2006 15:04:05")
	},
	"outcome": outcomeLabel,
	"maskNIR": MaskNIR,
}

func loadPages() (*pages, error) {
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		if n.Name() == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n.Name())
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n.Name(), err)
		}
		p.byName[strings.TrimSuffix(n.Name(), ".html")] = t
	}
	return p, nil
}

// view is what every page gets.
type view struct {
	Title   string
	User    string
	Role    string
	CanAct  bool
	CSRF    string
	Flash   string
	Error   string
	Data    any
	Current string // the menu entry of the page
}

// render writes a page, buffered so that a template error gives a clean 500.
func (p *pages) render(w http.ResponseWriter, status int, name string, v view) {
	var buf bytes.Buffer
	if err := p.byName[name].Execute(&buf, v); err != nil {
		http.Error(w, "erreur interne de la console", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// MaskNIR shows a NIR's sex digit and key only: "1 ** ** ** *** *** 38".
func MaskNIR(nir string) string {
	if len(nir) != 15 {
		return "***"
	}
	return nir[:1] + " ** ** ** *** *** " + nir[13:]
}

// outcomeLabels say each outcome in French for the operators.
var outcomeLabels = map[rules.Outcome]string{
	rules.Issued:               "attestation envoyée",
	rules.AddressMissing:       "adresse manquante",
	rules.RightsClosed:         "droits fermés",
	rules.BeneficiaryUnknown:   "bénéficiaire inconnu",
	rules.BeneficiaryAmbiguous: "bénéficiaire ambigu",
	rules.SenderUnknown:        "expéditeur inconnu",
	rules.SenderAmbiguous:      "expéditeur ambigu",
	rules.SenderUnverified:     "expéditeur non authentifié",
	rules.NIRInvalid:           "NIR invalide",
	rules.NotAttestation:       "autre demande",
	rules.Suppressed:           "sans réponse (automatique ou limite)",
	rules.Rejected:             "rejeté (illisible ou trop gros)",
	rules.Failed:               "échec du traitement",
}

func outcomeLabel(o rules.Outcome) string {
	if l, ok := outcomeLabels[o]; ok {
		return l + " (" + string(o) + ")"
	}
	if o == "" {
		return "en cours"
	}
	return string(o)
}
