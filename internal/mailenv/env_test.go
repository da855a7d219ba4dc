package mailenv_test

import (
	"slices"
	"testing"

	"github.com/cpam/attestd/internal/mailenv"
)

func setAll(t *testing.T) {
	t.Setenv(mailenv.EnvIMAPAddr, "127.0.0.1:10143")
	t.Setenv(mailenv.EnvIMAPUser, "attestation@cpam.example")
	t.Setenv(mailenv.EnvIMAPPassword, "secret")
	t.Setenv(mailenv.EnvQAUser, "")
	t.Setenv(mailenv.EnvQAPassword, "")
	t.Setenv(mailenv.EnvSMTPAddr, "127.0.0.1:10025")
	t.Setenv(mailenv.EnvMailpitAPI, "http://127.0.0.1:18025/")
}

func TestFromEnvReadsEveryVariable(t *testing.T) {
	setAll(t)
	t.Setenv(mailenv.EnvQAUser, "qa@cpam.example")
	t.Setenv(mailenv.EnvQAPassword, "qa-secret")
	env, ok := mailenv.FromEnv()
	if !ok {
		t.Fatalf("FromEnv reports no servers with every variable set; missing: %v", mailenv.MissingVars())
	}
	want := mailenv.Env{
		IMAPAddr:     "127.0.0.1:10143",
		IMAPUser:     "attestation@cpam.example",
		IMAPPassword: "secret",
		QAUser:       "qa@cpam.example",
		QAPassword:   "qa-secret",
		SMTPAddr:     "127.0.0.1:10025",
		MailpitAPI:   "http://127.0.0.1:18025",
	}
	if *env != want {
		t.Errorf("FromEnv = %+v, want %+v", *env, want)
	}
}

func TestFromEnvNamesWhatIsMissing(t *testing.T) {
	setAll(t)
	t.Setenv(mailenv.EnvIMAPPassword, "")
	t.Setenv(mailenv.EnvMailpitAPI, "")
	if env, ok := mailenv.FromEnv(); ok || env != nil {
		t.Fatalf("FromEnv = %+v, %v with two variables empty, want nil, false", env, ok)
	}
	got := mailenv.MissingVars()
	want := []string{mailenv.EnvIMAPPassword, mailenv.EnvMailpitAPI}
	if !slices.Equal(got, want) {
		t.Errorf("MissingVars = %v, want %v", got, want)
	}
}

func TestQAMailboxIsOptional(t *testing.T) {
	setAll(t)
	env, ok := mailenv.FromEnv()
	if !ok {
		t.Fatalf("FromEnv needs the QA mailbox, want it optional; missing: %v", mailenv.MissingVars())
	}
	if env.QAUser != "" || env.QAPassword != "" {
		t.Errorf("QA mailbox = %q/%q, want empty", env.QAUser, env.QAPassword)
	}
}
