package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// consoleRoutes adds the console's pages: every one needs a session but the
// log-in form; every POST needs the session's CSRF token and the operator
// role (but log-out).
func (s *Server) consoleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.loginPost)
	mux.HandleFunc("POST /logout", s.form(false, s.logout))
	mux.HandleFunc("GET /{$}", s.page(s.dashboard))
	mux.HandleFunc("GET /manual", s.page(s.manual))
	mux.HandleFunc("GET /outbox", s.page(s.outbox))
	mux.HandleFunc("GET /search", s.page(s.search))
	// The form posts: a NIR searched for stays out of URLs, history and
	// proxy logs.
	mux.HandleFunc("POST /search", s.form(false, s.search))
	mux.HandleFunc("GET /messages/{id}", s.page(s.message))
	mux.HandleFunc("POST /messages/{id}/handled", s.form(true, s.markHandled))
	mux.HandleFunc("POST /messages/{id}/retry", s.form(true, s.retry))
	mux.HandleFunc("POST /outbox/{id}/retry", s.form(true, s.outboxRetry))
}

type handler func(w http.ResponseWriter, r *http.Request, ss *session)

func (s *Server) viewFor(ss *session, title, current string) view {
	return view{Title: title, User: ss.user, Role: ss.role, CanAct: ss.canAct(), CSRF: ss.csrf, Current: current,
		Flash: "", Error: ""}
}

// page serves a GET page to a logged-in operator; others go to the log-in.
func (s *Server) page(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss := s.sessions.get(r)
		if ss == nil {
			ss = s.proxySession(w, r)
		}
		if ss == nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		h(w, r, ss)
	}
}

// form serves a POST: 403 without a session, without the CSRF token, or,
// when act, for a viewer.
func (s *Server) form(act bool, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		ss := s.sessions.get(r)
		switch {
		case ss == nil:
			s.forbidden(w, view{}, "Session absente ou expirée : reconnectez-vous.")
		case !csrfOK(r, ss):
			s.forbidden(w, s.viewFor(ss, "", ""), "Jeton de formulaire (CSRF) absent ou invalide : action refusée.")
		case act && !ss.canAct():
			s.forbidden(w, s.viewFor(ss, "", ""), "Votre rôle (lecteur) ne permet pas cette action.")
		default:
			h(w, r, ss)
		}
	}
}

func (s *Server) forbidden(w http.ResponseWriter, v view, why string) {
	v.Title, v.Error = "Action refusée", why
	s.pages.render(w, http.StatusForbidden, "error", v)
}

func (s *Server) fail(w http.ResponseWriter, ss *session, status int, why string) {
	v := s.viewFor(ss, "Erreur", "")
	v.Error = why
	s.pages.render(w, status, "error", v)
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	tok := randomToken()
	http.SetCookie(w, s.cookie(loginCookie, tok, 600))
	s.pages.render(w, http.StatusOK, "login", view{Title: "Connexion", CSRF: tok, Error: loginErrors[r.URL.Query().Get("e")]})
}

// loginErrors are the messages the log-in page shows after a failure, by
// the code in its URL: a code, not the text, so that a link cannot make
// the page say something else.
var loginErrors = map[string]string{
	"wrong":  "Identifiant ou mot de passe incorrect.",
	"locked": "Trop d'échecs : ce compte est bloqué pour un moment.",
}

func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || r.PostFormValue("csrf") != c.Value {
		s.forbidden(w, view{}, "Jeton de formulaire (CSRF) absent ou invalide : rechargez la page de connexion.")
		return
	}
	name := r.PostFormValue("name")
	tok, ss, res := s.sessions.login(name, r.PostFormValue("password"))
	now := s.o.Now()
	if res != loginOK {
		_ = s.o.Store.Audit(r.Context(), store.AuditEntry{At: now, Who: name, Action: store.AuditLoginFailed})
		code := "wrong"
		if res == loginLocked {
			code = "locked"
		}
		http.Redirect(w, r, "/login?e="+code, http.StatusSeeOther)
		return
	}
	_ = s.o.Store.Audit(r.Context(), store.AuditEntry{At: now, Who: ss.user, Action: store.AuditLogin})
	http.SetCookie(w, s.cookie(loginCookie, "", -1))
	http.SetCookie(w, s.cookie(sessionCookie, tok, int(s.o.Config.Console.SessionTTL.D().Seconds())))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *session) {
	s.sessions.logout(r)
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// listData is what list.html shows.
type listData struct {
	Rows             []store.Entry
	Search, Searched bool
	Query            string
}

func (s *Server) manual(w http.ResponseWriter, r *http.Request, ss *session) {
	f := s.o.Config.IMAP.Folders
	rows, err := s.o.Store.Entries(r.Context(), store.EntryFilter{Folders: []string{f.Manual, f.Quarantine}})
	if err != nil {
		s.fail(w, ss, http.StatusInternalServerError, "Le registre est illisible pour le moment.")
		return
	}
	v := s.viewFor(ss, "Messages à traiter (Manual, Quarantine)", "manual")
	v.Data = listData{Rows: rows}
	s.pages.render(w, http.StatusOK, "list", v)
}

// search finds ledger rows by reference (AD-…), Message-ID or NIR; a NIR
// finds its compte's rows and is never shown back in clear.
func (s *Server) search(w http.ResponseWriter, r *http.Request, ss *session) {
	q := strings.TrimSpace(r.FormValue("q"))
	d := listData{Search: true, Query: q}
	v := s.viewFor(ss, "Recherche", "search")
	if q != "" {
		f, ok, err := s.searchFilter(r, q)
		if err != nil {
			s.fail(w, ss, http.StatusInternalServerError, "Le registre est illisible pour le moment.")
			return
		}
		if nir := rules.NormalizeNIR(q); len(nir) == 15 {
			d.Query = MaskNIR(nir)
		}
		d.Searched = true
		if ok {
			if d.Rows, err = s.o.Store.Entries(r.Context(), f); err != nil {
				s.fail(w, ss, http.StatusInternalServerError, "Le registre est illisible pour le moment.")
				return
			}
		}
	}
	v.Data = d
	s.pages.render(w, http.StatusOK, "list", v)
}

func (s *Server) searchFilter(r *http.Request, q string) (store.EntryFilter, bool, error) {
	if strings.HasPrefix(strings.ToUpper(q), "AD-") {
		return store.EntryFilter{Reference: strings.ToUpper(q)}, true, nil
	}
	if nir, err := rules.CheckNIR(q); err == nil {
		c, err := s.o.Store.CompteByNIR(r.Context(), nir)
		if err != nil || c == nil {
			return store.EntryFilter{}, false, err
		}
		return store.EntryFilter{CompteID: c.ID}, true, nil
	}
	return store.EntryFilter{MessageID: strings.Trim(q, "<>")}, true, nil
}

func (s *Server) outbox(w http.ResponseWriter, r *http.Request, ss *session) {
	items, err := s.o.Store.ListOutbox(r.Context(), store.OutboxPending, store.OutboxPermanent)
	if err != nil {
		s.fail(w, ss, http.StatusInternalServerError, "L'outbox est illisible pour le moment.")
		return
	}
	v := s.viewFor(ss, "Réponses en attente ou refusées", "outbox")
	v.Data = struct{ Items []store.OutboxItem }{items}
	v.Flash = r.URL.Query().Get("ok")
	s.pages.render(w, http.StatusOK, "outbox", v)
}

func (s *Server) outboxRetry(w http.ResponseWriter, r *http.Request, ss *session) {
	id, ok := s.pathID(w, r, ss, "Réponse inconnue.")
	if !ok {
		return
	}
	now := s.o.Now()
	if err := s.o.Store.RetryOutbox(r.Context(), id, now); err != nil {
		s.fail(w, ss, statusOf(err), "Renvoi impossible : "+err.Error())
		return
	}
	_ = s.o.Store.Audit(r.Context(), store.AuditEntry{At: now, Who: ss.user, Action: store.AuditOutboxRetry, OutboxID: id})
	http.Redirect(w, r, "/outbox?ok="+url.QueryEscape("Réponse "+strconv.FormatInt(id, 10)+" remise en file."), http.StatusSeeOther)
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrWrongState):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// pathID reads the {id} of the path; an id that is not a number answers
// 404 with unknown (the page's "inconnu" sentence).
func (s *Server) pathID(w http.ResponseWriter, r *http.Request, ss *session, unknown string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, ss, http.StatusNotFound, unknown)
		return 0, false
	}
	return id, true
}
