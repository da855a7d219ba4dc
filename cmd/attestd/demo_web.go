package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/internal/passhash"
	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/seal"
	"github.com/cpam/attestd/web"
)

// demoAccess are the demo's console log-ins and API token, made afresh at
// each start.
type demoAccess struct {
	addr                     chan string
	operatorPass, viewerPass string
	token                    string
}

// demoWeb, when on, turns the console and the API on in cfg, with an
// operator, a viewer and an API client whose secrets are random, and,
// unless the configuration has a signing key, signs the attestations with
// a key made in dir, which /verify trusts.
func demoWeb(cfg *config.Config, addr, dir string, on bool) (demoAccess, error) {
	if !on {
		return demoAccess{}, nil
	}
	a := demoAccess{addr: make(chan string, 1), operatorPass: randomPassword(), viewerPass: randomPassword(), token: randomPassword()}
	opHash, viewHash := passhash.Hash(a.operatorPass), passhash.Hash(a.viewerPass)
	cfg.HTTP.Address, cfg.HTTP.InsecureCookies = addr, true
	cfg.Console.Users = []config.ConsoleUser{
		{Name: "operateur", Role: config.RoleOperator, PasswordHash: opHash},
		{Name: "lecteur", Role: config.RoleViewer, PasswordHash: viewHash},
	}
	cfg.API.Clients = []config.APIClient{{Name: "demo", TokenSHA256: web.TokenSHA256(a.token)}}
	if cfg.Signing.KeyFile != "" {
		return a, nil
	}
	priv, pub, err := seal.GenerateKey(rand.Reader, "CPAM", "", rules.Date{Year: 2000, Month: 1, Day: 1}, rules.Date{})
	if err != nil {
		return a, err
	}
	privFile, pubFile := filepath.Join(dir, "signing.pem"), filepath.Join(dir, "signing.pub.pem")
	if err := os.WriteFile(privFile, priv, 0o600); err != nil {
		return a, err
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		return a, err
	}
	cfg.Signing.KeyFile, cfg.HTTP.VerifyKeys = privFile, []string{pubFile}
	return a, nil
}

func (a demoAccess) ready(addr string) {
	if a.addr != nil {
		a.addr <- addr
	}
}

func (a demoAccess) print(w io.Writer) {
	if a.addr == nil {
		return
	}
	addr := <-a.addr
	fmt.Fprintf(w, "Console  http://%s/  log-in operateur / %s (operator), lecteur / %s (viewer)\n", addr, a.operatorPass, a.viewerPass)
	fmt.Fprintf(w, "API      curl -s -X POST http://%s/v1/attestations -H 'Authorization: Bearer %s' \\\n", addr, a.token)
	fmt.Fprintf(w, "           -H 'Content-Type: application/json' -d '{\"nir\":\"185066912308738\",\"family\":true}' -o famille.pdf\n")
	fmt.Fprintf(w, "Verify   http://%s/verify  (the attestations are signed with a key made for this run)\n\n", addr)
}
