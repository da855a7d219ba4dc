package config

import "testing"

func TestDefaultJournal(t *testing.T) {
	for _, tc := range []struct {
		st   StoreConfig
		want string
	}{
		{StoreConfig{Driver: "sqlite", DSN: "/var/lib/attestd/attestd.db"}, "/var/lib/attestd/attestd.db.sent"},
		{StoreConfig{Driver: "sqlite", DSN: "file:/data/a.db?_pragma=busy_timeout(5000)"}, "/data/a.db.sent"},
		{StoreConfig{Driver: "sqlite", DSN: ":memory:"}, ""},
		{StoreConfig{Driver: "sqlite", DSN: "file:x?mode=memory"}, ""},
		{StoreConfig{Driver: "postgres", DSN: "postgres://u@h/db"}, JournalInDatabase},
	} {
		if got := defaultJournal(tc.st); got != tc.want {
			t.Errorf("defaultJournal(%+v) = %q, want %q", tc.st, got, tc.want)
		}
	}
}
