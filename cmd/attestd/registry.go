package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cpam/attestd/store"
)

func cmdRegistry(args []string) error {
	if len(args) == 0 || args[0] != "import" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			fmt.Fprintln(os.Stderr, "usage: attestd registry import [--db FILE] [--driver sqlite|postgres] REGISTRY.json")
			return errHelp
		}
		return fmt.Errorf("usage: attestd registry import [--db FILE] REGISTRY.json")
	}
	fs := newFlags("registry import", "registry import [--db FILE] [--driver sqlite|postgres] REGISTRY.json")
	db := fs.String("db", "attestd.db", "the store: a SQLite file, or a PostgreSQL URL with --driver postgres")
	driver := fs.String("driver", "sqlite", "store driver: sqlite or postgres")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("name one registry file (attestd-registry/1 JSON)")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, *driver, *db)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer st.Close()
	if err := importRegistryFile(ctx, st, fs.Arg(0)); err != nil {
		return err
	}
	return nil
}

// importRegistryFile validates a registry file and replaces the registry
// with it, all or nothing.
func importRegistryFile(ctx context.Context, st *store.DB, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	reg, err := store.ParseRegistry(f)
	if err != nil {
		return fmt.Errorf("registry %s refused, nothing loaded: %w", path, err)
	}
	if err := st.ImportRegistry(ctx, reg); err != nil {
		return fmt.Errorf("registry %s: %w", path, err)
	}
	n := 0
	for _, c := range reg.Comptes {
		n += len(c.Beneficiaries)
	}
	fmt.Fprintf(os.Stderr, "registry imported: %d organismes, %d comptes, %d beneficiaries\n", len(reg.Organismes), len(reg.Comptes), n)
	return nil
}
