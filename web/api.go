package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/cpam/attestd/decide"
	"github.com/cpam/attestd/rules"
)

//go:embed openapi.json
var openapiFS embed.FS

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	b, _ := openapiFS.ReadFile("openapi.json") // embedded: always there
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// attestationRequest is the JSON body of POST /v1/attestations.
type attestationRequest struct {
	NIR           string        `json:"nir"`
	Family        bool          `json:"family"`
	Beneficiaries []beneficiary `json:"beneficiaries"`
	Mentions      []string      `json:"mentions"`
}

type beneficiary struct {
	FirstName string `json:"first_name"`
	BirthDate string `json:"birth_date"`
}

// problem is an RFC 9457 problem detail, with the outcome code of SPEC
// section 5 as an extension member.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
	Reference string `json:"reference,omitempty"`
}

// maxAPIBody bounds a request body: a NIR and a few names.
const maxAPIBody = 16 << 10

func writeProblem(w http.ResponseWriter, p problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// outcomeStatus is the HTTP status of each outcome that is not an
// attestation.
func outcomeStatus(o rules.Outcome) int {
	switch o {
	case rules.NIRInvalid:
		return http.StatusBadRequest
	case rules.SenderUnknown:
		return http.StatusNotFound
	case rules.LimitReached:
		return http.StatusTooManyRequests
	}
	return http.StatusUnprocessableEntity
}

// outcomeTitles are the problems' titles, in French like every answer.
var outcomeTitles = map[rules.Outcome]string{
	rules.AddressMissing:       "Aucune adresse postale connue : l'attestation ne peut pas être délivrée",
	rules.RightsClosed:         "Pas de droits ouverts à la date du jour",
	rules.BeneficiaryUnknown:   "Bénéficiaire inconnu sur ce compte",
	rules.BeneficiaryAmbiguous: "Plusieurs bénéficiaires correspondent",
	rules.SenderUnknown:        "Aucun compte ne correspond à ce NIR",
	rules.NIRInvalid:           "NIR invalide",
	rules.LimitReached:         "Trop d'attestations pour ce compte : réessayez dans 24 heures au plus tard",
}

// client returns the name of the API client the request comes from, or "":
// the one whose verified TLS client certificate it presents, else the one
// whose bearer token it carries. Tokens are compared by their SHA-256, in
// constant time.
func (s *Server) client(r *http.Request) string {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && s.clientCAs != nil {
		if name := s.certClient(r.TLS.VerifiedChains[0][0]); name != "" {
			return name
		}
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	name := ""
	for _, c := range s.o.Config.API.Clients {
		want, err := hex.DecodeString(c.TokenSHA256)
		if err == nil && subtle.ConstantTimeCompare(sum[:], want) == 1 {
			name = c.Name
		}
	}
	return name
}

// certClient returns the name of the client whose cert_subject is the
// common name or a subject alternative name of cert, or "".
func (s *Server) certClient(cert *x509.Certificate) string {
	names := append([]string{cert.Subject.CommonName}, cert.DNSNames...)
	names = append(names, cert.EmailAddresses...)
	for _, u := range cert.URIs {
		names = append(names, u.String())
	}
	for _, c := range s.o.Config.API.Clients {
		for _, n := range names {
			if c.CertSubject != "" && strings.EqualFold(n, c.CertSubject) {
				return c.Name
			}
		}
	}
	return ""
}

// apiAttestations serves POST /v1/attestations.
func (s *Server) apiAttestations(w http.ResponseWriter, r *http.Request) {
	client := s.client(r)
	if client == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="attestd"`)
		writeProblem(w, problem{Type: "/v1/problems/unauthorized", Title: "Jeton d'accès ou certificat client absent ou inconnu", Status: http.StatusUnauthorized})
		return
	}
	req, err := readAttestationRequest(r)
	req.Client = client
	if err != nil {
		writeProblem(w, problem{Type: "/v1/problems/bad_request", Title: "Requête illisible", Status: http.StatusBadRequest, Detail: err.Error()})
		return
	}
	select {
	case s.apiSlots <- struct{}{}:
	case <-r.Context().Done():
		return // the client is gone
	}
	a, err := s.o.Daemon.Attest(r.Context(), req)
	<-s.apiSlots
	if err != nil {
		s.o.Logger.Error("api: cannot decide now", "client", client, "err", err)
		writeProblem(w, problem{Type: "/v1/problems/unavailable", Title: "Service momentanément indisponible", Status: http.StatusServiceUnavailable})
		return
	}
	s.o.Logger.Info("api call", "client", client, "outcome", a.Outcome, "reference", a.Reference)
	if a.Outcome == rules.Issued {
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.PDF.FileName}))
		w.Header().Set("Attestation-Reference", a.Reference)
		w.Write(a.PDF.Bytes)
		return
	}
	if a.Outcome == rules.LimitReached {
		// At the latest: the attestations counted now leave the 24-hour
		// window by then (SPEC section 7).
		w.Header().Set("Retry-After", "86400")
	}
	writeProblem(w, problem{Type: "/v1/problems/" + string(a.Outcome), Title: outcomeTitles[a.Outcome],
		Status: outcomeStatus(a.Outcome), Detail: a.Detail, Outcome: string(a.Outcome), Reference: a.Reference})
}

func readAttestationRequest(r *http.Request) (decide.APIRequest, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return decide.APIRequest{}, fmt.Errorf("Content-Type must be application/json")
	}
	var in attestationRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return decide.APIRequest{}, fmt.Errorf("JSON: %v", err)
	}
	out := decide.APIRequest{NIR: in.NIR, Family: in.Family}
	if in.NIR == "" {
		return out, fmt.Errorf("nir is required")
	}
	for i, b := range in.Beneficiaries {
		d, err := rules.ParseDate(b.BirthDate)
		if b.FirstName == "" || err != nil {
			return out, fmt.Errorf("beneficiaries[%d]: first_name and birth_date (YYYY-MM-DD) are required", i)
		}
		out.Beneficiaries = append(out.Beneficiaries, rules.Target{FirstName: b.FirstName, Birth: d})
	}
	for _, m := range in.Mentions {
		switch strings.ToUpper(m) {
		case string(rules.MentionETM):
			out.ETM = true
		case string(rules.MentionC2S):
			out.C2S = true
		default:
			return out, fmt.Errorf("mentions: %q is not ETM or C2S", m)
		}
	}
	return out, nil
}

// TokenSHA256 is the hex SHA-256 of an API token, for api.clients[].token_sha256.
func TokenSHA256(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
