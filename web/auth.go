package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/internal/passhash"
)

const (
	sessionCookie = "attestd_session"
	loginCookie   = "attestd_login" // the log-in form's CSRF token (double submit)
)

// session is one logged-in operator.
type session struct {
	user, role string
	csrf       string
	expires    time.Time
}

func (s *session) canAct() bool { return s.role == config.RoleOperator }

// sessions holds the sessions in memory (a restart logs everyone out) and
// the failed log-ins of each name, for the lock-out.
type sessions struct {
	cfg config.ConsoleConfig
	now func() time.Time

	mu       sync.Mutex
	byToken  map[string]*session
	failures map[string]*failures
	// dummy is compared against when the name is unknown, so that the
	// answer takes as long as for a known name (made at the first such
	// log-in: an argon2id hash costs tens of milliseconds).
	dummyOnce sync.Once
	dummy     string
}

type failures struct {
	n     int
	until time.Time // locked out until then
}

func newSessions(cfg config.ConsoleConfig, now func() time.Time) *sessions {
	return &sessions{cfg: cfg, now: now, byToken: map[string]*session{}, failures: map[string]*failures{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loginResult is what a log-in attempt gave.
type loginResult int

const (
	loginOK loginResult = iota
	loginWrong
	loginLocked
)

// login checks name and password. After cfg.LockoutAfter failures in a row
// the name is locked for cfg.LockoutFor, even for the right password.
func (ss *sessions) login(name, password string) (token string, s *session, res loginResult) {
	ss.mu.Lock()
	f := ss.failures[name]
	now := ss.now()
	if f != nil && now.Before(f.until) {
		ss.mu.Unlock()
		return "", nil, loginLocked
	}
	ss.mu.Unlock()
	var user *config.ConsoleUser
	for i := range ss.cfg.Users {
		if ss.cfg.Users[i].Name == name {
			user = &ss.cfg.Users[i]
		}
	}
	var hash string
	if user != nil {
		hash = user.PasswordHash
	} else {
		ss.dummyOnce.Do(func() { ss.dummy = passhash.Hash(randomToken()) })
		hash = ss.dummy
	}
	ok := passhash.Check(hash, password) && user != nil
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ok {
		if f == nil {
			f = &failures{}
			ss.failures[name] = f
		}
		if f.n++; f.n >= ss.cfg.LockoutAfter {
			f.n, f.until = 0, now.Add(ss.cfg.LockoutFor.D())
			return "", nil, loginLocked
		}
		return "", nil, loginWrong
	}
	delete(ss.failures, name)
	token, s = ss.openLocked(user.Name, user.Role, now)
	return token, s, loginOK
}

// open starts a session for a user already authenticated (by the trusted
// proxy).
func (ss *sessions) open(name, role string) (string, *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.openLocked(name, role, ss.now())
}

func (ss *sessions) openLocked(name, role string, now time.Time) (string, *session) {
	token := randomToken()
	s := &session{user: name, role: role, csrf: randomToken(), expires: now.Add(ss.cfg.SessionTTL.D())}
	ss.byToken[token] = s
	return token, s
}

// get returns the live session of the request, or nil.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byToken[c.Value]
	if s != nil && !ss.now().Before(s.expires) {
		delete(ss.byToken, c.Value)
		return nil
	}
	return s
}

func (ss *sessions) logout(r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		ss.mu.Lock()
		delete(ss.byToken, c.Value)
		ss.mu.Unlock()
	}
}

// cookie is a session-scoped cookie: HttpOnly, SameSite strict, Secure
// unless http.insecure_cookies.
func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: !s.o.Config.HTTP.InsecureCookies, SameSite: http.SameSiteStrictMode}
}

// csrfOK tells whether a form carries the session's CSRF token.
func csrfOK(r *http.Request, s *session) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}
