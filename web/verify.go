package web

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/seal"
)

// maxVerifyUpload bounds an uploaded PDF (an attestation is some 60 kB).
const maxVerifyUpload = 4 << 20

// loadKeys reads the public keys /verify trusts.
func loadKeys(files []string) (seal.KeyRing, error) {
	var ring seal.KeyRing
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("http.verify_keys: %w", err)
		}
		keys, err := seal.ParsePublicKeys(data)
		if err != nil {
			return nil, fmt.Errorf("http.verify_keys: %s: %w", f, err)
		}
		ring = append(ring, keys...)
	}
	return ring, nil
}

// verifyData is what verify.html shows.
type verifyData struct {
	NoKeys  bool
	Checked bool
	Valid   bool
	Verdict string // why not valid, in French
	Content string // the signed content in plain French
	KeyID   string
}

// verifyPage serves GET and POST /verify: no log-in, nothing stored, a
// few checks a minute per client address.
func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request) {
	d := verifyData{NoKeys: len(s.keys) == 0}
	v := view{Title: "Vérifier une attestation de droits", Data: &d}
	if r.Method == http.MethodGet || d.NoKeys {
		s.pages.render(w, http.StatusOK, "verify", v)
		return
	}
	if !s.verifyLimit.allow(clientIP(r), s.o.Now()) {
		v.Error = "Trop de vérifications depuis votre adresse : réessayez dans une minute."
		s.pages.render(w, http.StatusTooManyRequests, "verify", v)
		return
	}
	code, err := s.codeOf(w, r)
	if err != nil {
		v.Error = err.Error()
		s.pages.render(w, http.StatusBadRequest, "verify", v)
		return
	}
	d.Checked = true
	res, err := s.keys.Verify(code, rules.DateOf(s.o.Now()))
	if err != nil {
		d.Verdict = "la signature ne correspond pas au contenu : le code a été modifié ou n'a pas été émis par l'Assurance Maladie"
		for _, e := range []error{seal.ErrUnknownKey, seal.ErrExpiredKey} {
			if errors.Is(err, e) {
				d.Verdict = e.Error() + " : ce code n'a pas été signé par une clé reconnue aujourd'hui"
			}
		}
		s.pages.render(w, http.StatusOK, "verify", v)
		return
	}
	d.Valid, d.Content, d.KeyID = true, res.Content.French(), res.Key.KeyID
	s.pages.render(w, http.StatusOK, "verify", v)
}

// codeOf reads the code pasted in the form, or the one of the uploaded PDF.
func (s *Server) codeOf(w http.ResponseWriter, r *http.Request) (string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxVerifyUpload+64<<10)
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return "", errors.New("envoi illisible ou trop gros (4 Mo au plus)")
	}
	if code := strings.TrimSpace(r.FormValue("code")); code != "" {
		return code, nil
	}
	f, _, err := r.FormFile("pdf")
	if err != nil {
		return "", errors.New("collez le code ou choisissez le PDF de l'attestation")
	}
	defer f.Close()
	pdf, err := io.ReadAll(io.LimitReader(f, maxVerifyUpload))
	if err != nil {
		return "", errors.New("PDF illisible")
	}
	code, err := pdftext.ReadCode(pdf)
	if err != nil {
		return "", errors.New("ce PDF ne porte pas de code signé d'attestation de droits")
	}
	return code, nil
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// windowLimit allows n events a minute per key (fixed windows).
type windowLimit struct {
	n      int
	mu     sync.Mutex
	window time.Time
	counts map[string]int
}

func (l *windowLimit) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := now.Truncate(time.Minute); !w.Equal(l.window) {
		l.window, l.counts = w, map[string]int{}
	}
	l.counts[key]++
	return l.counts[key] <= l.n
}
