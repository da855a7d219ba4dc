package store

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/cpam/attestd/rules"
)

func importSample(t *testing.T, db *DB) *Registry {
	t.Helper()
	reg := sampleRegistry(t)
	if err := db.ImportRegistry(context.Background(), reg); err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestImportRegistryReadsBackIdentical(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		reg := importSample(t, db)
		for i := range reg.Comptes {
			want := &reg.Comptes[i]
			got, err := db.CompteByID(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("compte %s read back differs:\n got %+v\nwant %+v", want.ID, got, want)
			}
		}
	})
}

func TestRegistryLookups(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		reg := importSample(t, db)

		shared, err := db.ComptesByEmail(ctx, " Famille.Rousseau@EXAMPLE.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(shared) != 2 || shared[0].ID != "C-JULIE" || shared[1].ID != "C-THOMAS" {
			t.Errorf("shared address gives %v, want C-JULIE and C-THOMAS", ids(shared))
		}
		if !reflect.DeepEqual(shared[1], compteOf(t, reg, "C-THOMAS")) {
			t.Errorf("C-THOMAS by e-mail differs from the file")
		}
		none, err := db.ComptesByEmail(ctx, "inconnu@example.com")
		if err != nil || len(none) != 0 {
			t.Errorf("unknown address gives %v, %v; want none", ids(none), err)
		}

		// Léa is a child on her father's compte: her own NIR finds it.
		lea, err := db.CompteByNIR(ctx, "2 15 03 69 123 245 11")
		if err != nil {
			t.Fatal(err)
		}
		if lea == nil || lea.ID != "C-BENOIT" {
			t.Fatalf("Léa's NIR gives %v, want C-BENOIT", lea)
		}
		if corse, err := db.CompteByNIR(ctx, "293082a00401264"); err != nil || corse == nil || corse.ID != "C-MARIE" {
			t.Errorf("2A NIR gives %v, %v; want C-MARIE", corse, err)
		}
		if c, err := db.CompteByNIR(ctx, "190017511100194"); c != nil || err != nil {
			t.Errorf("unknown NIR gives %v, %v; want nil, nil", c, err)
		}
		if c, err := db.CompteByID(ctx, "C-NOBODY"); c != nil || err != nil {
			t.Errorf("unknown id gives %v, %v; want nil, nil", c, err)
		}
	})
}

func ids(cs []*rules.Compte) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestImportRegistryReplacesAtomically(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		importSample(t, db)

		// A second registry replaces the first whole: C-EVA leaves, C-NEW comes.
		next := sampleRegistry(t)
		next.Comptes[0].ID = "C-NEW"
		next.Comptes[0].Email = "nouvelle@example.org"
		if err := db.ImportRegistry(ctx, next); err != nil {
			t.Fatal(err)
		}
		if c, _ := db.CompteByID(ctx, "C-EVA"); c != nil {
			t.Error("C-EVA still there after a registry without it")
		}
		if c, _ := db.CompteByNIR(ctx, "290107511104250"); c == nil || c.ID != "C-NEW" {
			t.Errorf("Eva's NIR gives %v, want C-NEW", c)
		}

		// An import that fails half-way (the database refuses the last
		// compte) leaves the previous registry as it was.
		abortInserts(t, db, "comptes", "NEW.id = 'C-BOOM'")
		broken := sampleRegistry(t)
		broken.Comptes[0].ID = "C-OTHER"
		broken.Comptes[len(broken.Comptes)-1].ID = "C-BOOM"
		if err := db.ImportRegistry(ctx, broken); err == nil {
			t.Fatal("import accepted although the database refused a compte")
		}
		checkRegistry(t, db, next)
		if c, _ := db.CompteByID(ctx, "C-OTHER"); c != nil {
			t.Error("a compte of the failed import was loaded")
		}
	})
}

// checkRegistry checks that every compte of want reads back identical.
func checkRegistry(t *testing.T, db *DB, want *Registry) {
	t.Helper()
	for i := range want.Comptes {
		got, err := db.CompteByID(context.Background(), want.Comptes[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, &want.Comptes[i]) {
			t.Errorf("compte %s changed: got %+v", want.Comptes[i].ID, got)
		}
	}
}

// ImportRegistry validates what it is given: a registry built in code with a
// wrong NIR key (or any other problem ParseRegistry reports) loads nothing.
func TestImportRegistryRefusesInvalid(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		reg := importSample(t, db)
		bad := sampleRegistry(t)
		bad.Comptes[0].Beneficiaries[0].NIR = "290107511104251"
		bad.Comptes[1].Organisme.Code = "01999"
		err := db.ImportRegistry(ctx, bad)
		var ves ValidationErrors
		if !errors.As(err, &ves) || len(ves) != 2 {
			t.Fatalf("got %v, want the 2 problems", err)
		}
		if ves[0].CompteID != "C-EVA" || ves[0].Field != "beneficiaires[0].nir" ||
			ves[1].CompteID != "C-BENOIT" || ves[1].Field != "organisme" {
			t.Errorf("problems %v", ves)
		}
		checkRegistry(t, db, reg)
	})
}
