package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/internal/pdftext"
	"github.com/cpam/attestd/store"
	"github.com/cpam/attestd/web"
)

// testCA is a certificate authority made for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial int64

func newKey(t *testing.T) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newCA(t *testing.T, name string) *testCA {
	key := newKey(t)
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// issue signs a certificate for tmpl's names with usage, and returns it
// with its key.
func (ca *testCA) issue(t *testing.T, tmpl *x509.Certificate, usage x509.ExtKeyUsage) tls.Certificate {
	key := newKey(t)
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tmpl.KeyUsage, tmpl.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{usage}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writePEM(t *testing.T, file, typ string, der []byte) string {
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestAPIClientCertificates: over TLS with http.client_cas, a client whose
// certificate is signed by one of them and listed (by common name or by a
// SAN) is served without a token, under its name in the ledger; an
// unlisted certificate or none is refused, and one from another CA does
// not get through the handshake.
func TestAPIClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, other := newCA(t, "CPAM clients"), newCA(t, "Someone else")
	server := ca.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "attestd"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}},
		x509.ExtKeyUsageServerAuth)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(server.PrivateKey)
	caFile := writePEM(t, filepath.Join(dir, "clients-ca.pem"), "CERTIFICATE", ca.cert.Raw)

	t.Setenv("ATTESTD_TEST_IMAP_PW", "secret") // for the configuration check
	e := newEnv(t, false, func(c *config.Config) {
		c.IMAP.Secret = config.Secret{Env: "ATTESTD_TEST_IMAP_PW"}
		c.HTTP.Address = "127.0.0.1:0"
		c.HTTP.TLSCert = writePEM(t, filepath.Join(dir, "web.crt"), "CERTIFICATE", server.Certificate[0])
		c.HTTP.TLSKey = writePEM(t, filepath.Join(dir, "web.key"), "PRIVATE KEY", keyDER)
		c.HTTP.ClientCAs = []string{caFile}
		c.API.Clients = append(c.API.Clients,
			config.APIClient{Name: "borne-01", CertSubject: "borne-01"},
			config.APIClient{Name: "appli", CertSubject: "appli.cpam.example"})
	})
	if err := e.cfg.Check(); err != nil {
		t.Fatalf("the configuration is refused: %v", err)
	}
	srv, err := web.New(web.Options{Config: e.cfg, Store: e.db, Daemon: e.daemon, Logger: e.logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	base := "https://" + srv.Addr()

	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	// clientWith presents certs[0] whatever CAs the server names (a Go
	// client otherwise keeps back a certificate of another CA).
	clientWith := func(certs ...tls.Certificate) *http.Client {
		send := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if len(certs) == 0 {
				return &tls.Certificate{}, nil
			}
			return &certs[0], nil
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, GetClientCertificate: send}}}
	}
	byCN := ca.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "borne-01"}}, x509.ExtKeyUsageClientAuth)
	bySAN := ca.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "x"}, DNSNames: []string{"appli.cpam.example"}},
		x509.ExtKeyUsageClientAuth)
	unlisted := ca.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "borne-99"}}, x509.ExtKeyUsageClientAuth)
	foreign := other.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "borne-01"}}, x509.ExtKeyUsageClientAuth)
	family := `{"nir":"` + benoitNIR + `","family":true}`

	for _, c := range []struct {
		name   string
		client *http.Client
	}{{"borne-01", clientWith(byCN)}, {"appli", clientWith(bySAN)}} {
		a, err := postAPI(t, c.client, base, "", family)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if a.status != http.StatusOK || a.contentType != "application/pdf" {
			t.Fatalf("%s's certificate: %d %s %s, want 200 and the PDF", c.name, a.status, a.contentType, a.body)
		}
		sum, err := pdftext.ReadAttestation(a.body)
		if err != nil || !slices.Equal(sum.Beneficiaries, []string{"BENOIT", "CLAIRE", "LÉA", "LUCAS"}) {
			t.Errorf("%s: the PDF reads %v, %v", c.name, sum, err)
		}
	}
	for _, c := range []struct {
		what   string
		client *http.Client
	}{{"an unlisted certificate", clientWith(unlisted)}, {"no certificate", clientWith()}} {
		a, err := postAPI(t, c.client, base, "", family)
		if err != nil || a.status != http.StatusUnauthorized || a.problem["type"] != "/v1/problems/unauthorized" {
			t.Errorf("%s and no token: %d %v %v, want 401", c.what, a.status, a.problem, err)
		}
	}
	if a, err := postAPI(t, clientWith(foreign), base, "", family); err == nil {
		t.Errorf("a certificate of another CA got through the handshake: %d %s", a.status, a.body)
	} else if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a certificate of another CA: %v, want the handshake refused", err)
	}
	if a, err := postAPI(t, clientWith(), base, apiToken, family); err != nil || a.status != http.StatusOK {
		t.Errorf("a token over TLS without a certificate: %d %v, want 200", a.status, err)
	}

	rows, err := e.db.Entries(context.Background(), store.EntryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var clients []string
	for _, r := range rows {
		name, _, _ := strings.Cut(strings.TrimPrefix(r.MessageID, "api:"), ":")
		clients = append(clients, name)
	}
	slices.Sort(clients)
	if want := []string{"appli", "borne-01", "site"}; !slices.Equal(clients, want) {
		t.Errorf("the ledger's calls name the clients %v, want %v", clients, want)
	}
}
