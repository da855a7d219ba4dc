package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cpam/attestd/rules"
)

// ImportRegistry replaces the whole registry with reg, in one transaction:
// readers see the old registry or the new one, never a mix, and a failed
// import leaves the old one in place. reg is validated first (see
// Registry.Validate). The ledger is not touched: it refers to comptes by id.
func (db *DB) ImportRegistry(ctx context.Context, reg *Registry) error {
	if err := reg.Validate(); err != nil {
		return fmt.Errorf("store: import registry: %w", err)
	}
	err := db.inTx(ctx, false, func(tx *sql.Tx) error {
		for _, table := range []string{"periodes", "beneficiaires", "comptes", "organismes"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
				return fmt.Errorf("empty %s: %w", table, err)
			}
		}
		w, err := db.newRegistryWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer w.close()
		for i := range reg.Organismes {
			if err := w.organisme(ctx, &reg.Organismes[i]); err != nil {
				return err
			}
		}
		for i := range reg.Comptes {
			if err := w.compte(ctx, &reg.Comptes[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: import registry (nothing changed): %w", err)
	}
	return nil
}

// registryWriter holds the insert statements of one import.
type registryWriter struct {
	org, comptes, ben, period *sql.Stmt
}

func (db *DB) newRegistryWriter(ctx context.Context, tx *sql.Tx) (*registryWriter, error) {
	w := &registryWriter{}
	for _, s := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&w.org, `INSERT INTO organismes (code, regime, caisse, centre, libelle, adresse) VALUES (?, ?, ?, ?, ?, ?)`},
		{&w.comptes, `INSERT INTO comptes (id, email, email_lower, organisme, has_adresse, adresse_lignes, code_postal, commune, npai)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.ben, `INSERT INTO beneficiaires (compte_id, pos, nir, nom_famille, nom_usage, prenom, date_naissance, rang, qualite)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.period, `INSERT INTO periodes (compte_id, pos, kind, seq, date_debut, date_fin, motif) VALUES (?, ?, ?, ?, ?, ?, ?)`},
	} {
		st, err := tx.PrepareContext(ctx, db.q(s.query))
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*s.dst = st
	}
	return w, nil
}

func (w *registryWriter) close() {
	for _, st := range []*sql.Stmt{w.org, w.comptes, w.ben, w.period} {
		if st != nil {
			st.Close()
		}
	}
}

func (w *registryWriter) organisme(ctx context.Context, o *rules.Organisme) error {
	_, err := w.org.ExecContext(ctx, o.Code, o.Regime, o.Caisse, o.Centre, o.Libelle, jsonLines(o.Adresse))
	if err != nil {
		return fmt.Errorf("organisme %s: %w", o.Code, err)
	}
	return nil
}

// The kinds of period rows.
const (
	kindDroits = "droits"
	kindETM    = "etm"
	kindC2S    = "c2s"
)

func (w *registryWriter) compte(ctx context.Context, c *rules.Compte) error {
	var (
		hasAddr int
		addr    rules.Address
	)
	if c.Adresse != nil {
		hasAddr, addr = 1, *c.Adresse
	}
	_, err := w.comptes.ExecContext(ctx, c.ID, c.Email, strings.ToLower(c.Email), c.Organisme.Code,
		hasAddr, jsonLines(addr.Lignes), addr.CodePostal, addr.Commune, boolInt(c.NPAI))
	if err != nil {
		return fmt.Errorf("compte %s: %w", c.ID, err)
	}
	for pos, b := range c.Beneficiaries {
		var nir any // NULL: no NIR of his own
		if b.NIR != "" {
			nir = rules.NormalizeNIR(b.NIR)
		}
		_, err := w.ben.ExecContext(ctx, c.ID, pos, nir, b.NomFamille, b.NomUsage, b.Prenom,
			b.DateNaissance.String(), b.Rang, string(b.Qualite))
		if err != nil {
			return fmt.Errorf("compte %s beneficiaires[%d]: %w", c.ID, pos, err)
		}
		add := func(kind string, seq int, p rules.Period, motif string) error {
			var fin any
			if !p.OpenEnded() {
				fin = p.End.String()
			}
			if _, err := w.period.ExecContext(ctx, c.ID, pos, kind, seq, p.Start.String(), fin, motif); err != nil {
				return fmt.Errorf("compte %s beneficiaires[%d] %s[%d]: %w", c.ID, pos, kind, seq, err)
			}
			return nil
		}
		for i, p := range b.Droits {
			if err := add(kindDroits, i, p, ""); err != nil {
				return err
			}
		}
		for i, e := range b.ETM {
			if err := add(kindETM, i, e.Period, e.Motif); err != nil {
				return err
			}
		}
		for i, p := range b.C2S {
			if err := add(kindC2S, i, p, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// ComptesByEmail returns the comptes whose e-mail on file is email, compared
// without case, ordered by id. Several comptes may share one address (a
// couple); none gives an empty slice.
func (db *DB) ComptesByEmail(ctx context.Context, email string) ([]*rules.Compte, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var out []*rules.Compte
	err := db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		out, err = db.loadComptes(ctx, tx, `c.email_lower = ?`, email)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: comptes by e-mail: %w", err)
	}
	return out, nil
}

// CompteByNIR returns the compte one of whose beneficiaries holds the NIR
// (spaces allowed; normalized before the look-up), or nil, nil when none
// does. The caller checks the key first: a NIR with a wrong key is never
// looked up (SPEC section 2).
func (db *DB) CompteByNIR(ctx context.Context, nir string) (*rules.Compte, error) {
	var out []*rules.Compte
	err := db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		out, err = db.loadComptes(ctx, tx, `c.id IN (SELECT compte_id FROM beneficiaires WHERE nir = ?)`, rules.NormalizeNIR(nir))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: compte by NIR: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out[0], nil
}

// CompteByID returns the compte with that id, or nil, nil when there is none.
func (db *DB) CompteByID(ctx context.Context, id string) (*rules.Compte, error) {
	var out []*rules.Compte
	err := db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		out, err = db.loadComptes(ctx, tx, `c.id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: compte by id: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out[0], nil
}

// loadComptes reads the comptes matching where (a condition on comptes c),
// ordered by id, with their organisme, beneficiaries and periods.
func (db *DB) loadComptes(ctx context.Context, q querier, where string, args ...any) ([]*rules.Compte, error) {
	rows, err := db.p(q).QueryContext(ctx, `SELECT c.id, c.email, c.has_adresse, c.adresse_lignes, c.code_postal,
		c.commune, c.npai, o.code, o.regime, o.caisse, o.centre, o.libelle, o.adresse
		FROM comptes c JOIN organismes o ON o.code = c.organisme
		WHERE `+where+` ORDER BY c.id`, args...)
	if err != nil {
		return nil, err
	}
	var out []*rules.Compte
	for rows.Next() {
		var (
			c                     rules.Compte
			hasAddr, npai         int
			addrLines, orgAdresse string
			addr                  rules.Address
		)
		err := rows.Scan(&c.ID, &c.Email, &hasAddr, &addrLines, &addr.CodePostal, &addr.Commune, &npai,
			&c.Organisme.Code, &c.Organisme.Regime, &c.Organisme.Caisse, &c.Organisme.Centre,
			&c.Organisme.Libelle, &orgAdresse)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if c.Organisme.Adresse, err = parseLines(orgAdresse); err == nil {
			addr.Lignes, err = parseLines(addrLines)
		}
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("compte %s: %w", c.ID, err)
		}
		if hasAddr != 0 {
			c.Adresse = &addr
		}
		c.NPAI = npai != 0
		out = append(out, &c)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range out {
		if err := db.loadBeneficiaries(ctx, q, c); err != nil {
			return nil, fmt.Errorf("compte %s: %w", c.ID, err)
		}
	}
	return out, nil
}

func (db *DB) loadBeneficiaries(ctx context.Context, q querier, c *rules.Compte) error {
	rows, err := db.p(q).QueryContext(ctx, `SELECT nir, nom_famille, nom_usage, prenom, date_naissance, rang, qualite
		FROM beneficiaires WHERE compte_id = ? ORDER BY pos`, c.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			b       rules.Beneficiary
			nir     sql.NullString
			birth   string
			qualite string
		)
		if err := rows.Scan(&nir, &b.NomFamille, &b.NomUsage, &b.Prenom, &birth, &b.Rang, &qualite); err != nil {
			rows.Close()
			return err
		}
		b.NIR, b.Qualite = nir.String, rules.Qualite(qualite)
		if b.DateNaissance, err = rules.ParseDate(birth); err != nil {
			rows.Close()
			return fmt.Errorf("beneficiaires[%d].date_naissance: %w", len(c.Beneficiaries), err)
		}
		c.Beneficiaries = append(c.Beneficiaries, b)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return db.loadPeriods(ctx, q, c)
}

func (db *DB) loadPeriods(ctx context.Context, q querier, c *rules.Compte) error {
	rows, err := db.p(q).QueryContext(ctx, `SELECT pos, kind, date_debut, date_fin, motif
		FROM periodes WHERE compte_id = ? ORDER BY pos, kind, seq`, c.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			pos         int
			kind, debut string
			fin         sql.NullString
			motif       string
			p           rules.Period
		)
		if err := rows.Scan(&pos, &kind, &debut, &fin, &motif); err != nil {
			return err
		}
		if pos < 0 || pos >= len(c.Beneficiaries) {
			return fmt.Errorf("period of a missing beneficiary %d", pos)
		}
		if p.Start, err = rules.ParseDate(debut); err == nil && fin.Valid {
			p.End, err = rules.ParseDate(fin.String)
		}
		if err != nil {
			return fmt.Errorf("beneficiaires[%d] %s: %w", pos, kind, err)
		}
		b := &c.Beneficiaries[pos]
		switch kind {
		case kindDroits:
			b.Droits = append(b.Droits, p)
		case kindETM:
			b.ETM = append(b.ETM, rules.Exoneration{Period: p, Motif: motif})
		case kindC2S:
			b.C2S = append(b.C2S, p)
		default:
			return fmt.Errorf("beneficiaires[%d]: unknown period kind %q", pos, kind)
		}
	}
	return rows.Err()
}

// jsonLines encodes address lines for a TEXT column.
func jsonLines(lines []string) string {
	if lines == nil {
		lines = []string{}
	}
	b, _ := json.Marshal(lines) // a []string always encodes
	return string(b)
}

// parseLines decodes jsonLines; no line gives nil.
func parseLines(s string) ([]string, error) {
	var lines []string
	if err := json.Unmarshal([]byte(s), &lines); err != nil {
		return nil, fmt.Errorf("address lines: %w", err)
	}
	return appendAll(nil, lines), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
