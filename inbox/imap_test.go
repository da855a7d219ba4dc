package inbox

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/cpam/attestd/internal/localmail"
)

const (
	testUser = "attestation@cpam.example"
	testPass = "secret"
)

func localServer(t *testing.T) *localmail.IMAPServer {
	t.Helper()
	s, err := localmail.StartIMAP("127.0.0.1:0", map[string]string{testUser: testPass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testConfig(addr string) *IMAPConfig {
	return &IMAPConfig{Address: addr, TLS: "none", Username: testUser, Password: testPass, Mailbox: "INBOX", Timeout: 5 * time.Second}
}

func request(subject string, body string) []byte {
	return []byte("From: eva.dupont@example.org\r\nTo: attestation@cpam.example\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + subject + "@example.org>\r\n\r\n" + body + "\r\n")
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// tlsServer serves a memory IMAP server that refuses LOGIN without TLS:
// STARTTLS on a plain listener, or implicit TLS.
func tlsServer(t *testing.T, implicit bool) (addr string, pool *x509.CertPool) {
	t.Helper()
	serverTLS, pool := selfSigned(t)
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(testUser, testPass)
	u.Create("INBOX", nil)
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:      imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		TLSConfig: serverTLS,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		ln = tls.NewListener(ln, serverTLS)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), pool
}

func TestOpenSessionTLSModes(t *testing.T) {
	for _, mode := range []string{"starttls", "tls"} {
		t.Run(mode, func(t *testing.T) {
			addr, pool := tlsServer(t, mode == "tls")
			cfg := testConfig(addr)
			cfg.TLS = mode
			cfg.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
			s, err := OpenSession(context.Background(), cfg)
			if err != nil {
				t.Fatalf("%s: %v", mode, err)
			}
			defer s.Close()
			if _, err := s.UIDs(); err != nil {
				t.Fatal(err)
			}
			// Without trusting the certificate, the connection is refused.
			cfg.TLSConfig = &tls.Config{ServerName: "127.0.0.1"}
			if _, err := OpenSession(context.Background(), cfg); err == nil {
				t.Fatal("an untrusted certificate was accepted")
			}
		})
	}
	// The server refuses LOGIN in clear: STARTTLS really happened above.
	addr, _ := tlsServer(t, false)
	if _, err := OpenSession(context.Background(), testConfig(addr)); err == nil {
		t.Fatal("plain-text login accepted by a server that requires TLS")
	}
	if _, err := OpenSession(context.Background(), &IMAPConfig{Address: addr, TLS: "ssl"}); err == nil || !strings.Contains(err.Error(), "none, starttls or tls") {
		t.Fatalf("bad tls mode: %v", err)
	}
}

func TestSessionFetchMove(t *testing.T) {
	srv := localServer(t)
	for _, raw := range [][]byte{request("one", "attestation"), request("big", strings.Repeat("x", 5000)), request("three", "attestation")} {
		if _, err := srv.Append(testUser, "INBOX", raw); err != nil {
			t.Fatal(err)
		}
	}
	s, err := OpenSession(context.Background(), testConfig(srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.UIDValidity() == 0 {
		t.Error("no UIDVALIDITY")
	}
	if err := s.EnsureFolders("Processed", "Quarantine", "Processed"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureFolders("Processed"); err != nil {
		t.Fatalf("existing folders: %v", err)
	}
	uids, err := s.UIDs()
	if err != nil || len(uids) != 3 {
		t.Fatalf("UIDs %v, %v", uids, err)
	}
	got, err := s.Fetch(uids, 1000)
	if err != nil || len(got) != 3 {
		t.Fatalf("Fetch %v, %v", got, err)
	}
	if got[1].Raw != nil || got[1].Size < 5000 {
		t.Errorf("the message over the limit was downloaded (size %d)", got[1].Size)
	}
	if !strings.Contains(string(got[0].Raw), "Subject: one") || !strings.Contains(string(got[2].Raw), "Subject: three") {
		t.Error("messages not read in UID order")
	}
	if err := s.Move(uids[:2], "Processed"); err != nil {
		t.Fatal(err)
	}
	if err := s.Move(uids[2:], "Quarantine"); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.UIDs(); len(left) != 0 {
		t.Errorf("INBOX still holds %v", left)
	}
	snap, err := srv.Mailbox(testUser, "Processed")
	if err != nil || len(snap.Messages) != 2 {
		t.Fatalf("Processed: %v %v", snap, err)
	}
	for _, m := range snap.Messages {
		for _, f := range m.Flags {
			if f == imap.FlagSeen {
				t.Error("Fetch set \\Seen")
			}
		}
	}
	// A UID that vanished meanwhile is simply absent.
	if got, err := s.Fetch([]uint32{uids[0]}, 0); err != nil || len(got) != 0 {
		t.Errorf("fetch of a moved message: %v %v", got, err)
	}
}

func TestWatch(t *testing.T) {
	srv := localServer(t)
	cfg := testConfig(srv.Addr())
	cfg.IdleWakeup = 20 * time.Millisecond
	wake := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, cfg, wake) }()
	<-wake // the initial wake-up: whatever was there before
	if _, err := srv.Append(testUser, "INBOX", request("new", "attestation")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up after new mail")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch after cancel: %v", err)
	}
	// A server going away ends Watch with an error, for the caller to
	// reconnect.
	go func() { done <- Watch(context.Background(), cfg, wake) }()
	<-wake
	srv.Stop()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Watch returned nil when the server went away")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not notice the server going away")
	}
}

// Filing is idempotent: a message moved already (by this session, or by
// another replica's that held the mailbox before) is not an error to move
// again, and nothing else moves.
func TestMoveAgainIsNoError(t *testing.T) {
	srv := localServer(t)
	for _, subj := range []string{"a", "b"} {
		if _, err := srv.Append(testUser, "INBOX", request(subj, "attestation")); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.CreateMailbox(testUser, "Processed"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := OpenSession(ctx, testConfig(srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := OpenSession(ctx, testConfig(srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := first.Move([]uint32{1}, "Processed"); err != nil {
		t.Fatal(err)
	}
	if err := second.Move([]uint32{1}, "Processed"); err != nil {
		t.Errorf("moving a message gone already (another session): %v", err)
	}
	if err := first.Move([]uint32{1}, "Processed"); err != nil {
		t.Errorf("moving a message gone already (same session): %v", err)
	}
	processed, _ := srv.Mailbox(testUser, "Processed")
	inbox, _ := srv.Mailbox(testUser, "INBOX")
	if len(processed.Messages) != 1 || len(inbox.Messages) != 1 {
		t.Errorf("Processed holds %d, INBOX %d; want 1 and 1", len(processed.Messages), len(inbox.Messages))
	}
}
