package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cpam/attestd/store"
)

func cmdRegistryImport(c *command, args []string) error {
	fs := c.flags()
	sf := addStoreFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("name one registry file (attestd-registry/1 JSON)")
	}
	ctx := context.Background()
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := importRegistryFile(ctx, st, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "registry imported: %d organismes, %d comptes, %d beneficiaries\n", n.organismes, n.comptes, n.beneficiaries)
	return nil
}

// registryCounts are the sizes of an imported registry.
type registryCounts struct{ organismes, comptes, beneficiaries int }

// importRegistryFile validates a registry file and replaces the registry
// with it, all or nothing.
func importRegistryFile(ctx context.Context, st *store.DB, path string) (registryCounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return registryCounts{}, fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	reg, err := store.ParseRegistry(f)
	if err != nil {
		return registryCounts{}, fmt.Errorf("registry %s refused, nothing loaded: %w", path, err)
	}
	if err := st.ImportRegistry(ctx, reg); err != nil {
		return registryCounts{}, fmt.Errorf("registry %s: %w", path, err)
	}
	n := registryCounts{organismes: len(reg.Organismes), comptes: len(reg.Comptes)}
	for _, c := range reg.Comptes {
		n.beneficiaries += len(c.Beneficiaries)
	}
	return n, nil
}
