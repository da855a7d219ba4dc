package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/store"
)

// messageData is what message.html shows.
type messageData struct {
	Entry    *store.Entry
	Message  *inbox.Message
	Headers  []kv
	Reply    *store.OutboxItem
	Audit    []store.AuditEntry
	CanRetry bool
}

type kv struct{ K, V string }

// shownHeaders are the header fields the detail page decodes, beyond From,
// Subject and Date.
var shownHeaders = []string{"To", "Cc", "Reply-To", "Message-Id", "Authentication-Results", "Auto-Submitted", "X-Ameli-NIR"}

func (s *Server) message(w http.ResponseWriter, r *http.Request, ss *session) {
	id, ok := s.pathID(w, r, ss, "Message inconnu.")
	if !ok {
		return
	}
	ctx := r.Context()
	e, raw, err := s.o.Store.EntryByID(ctx, id)
	if err != nil {
		s.fail(w, ss, statusOf(err), "Message inconnu.")
		return
	}
	d := messageData{Entry: e}
	if len(raw) > 0 {
		if m, err := inbox.ParseMessage(raw, inbox.DefaultLimits()); err == nil {
			d.Message = m
			for _, k := range shownHeaders {
				for _, v := range m.Header.Values(k) {
					d.Headers = append(d.Headers, kv{k, v})
				}
			}
		}
	}
	if d.Reply, err = s.o.Store.OutboxForClaim(ctx, id); err == nil && d.Reply != nil {
		d.Reply.Raw = nil
	}
	d.Audit, _ = s.o.Store.AuditLog(ctx, id, 50)
	f := s.o.Config.IMAP.Folders
	d.CanRetry = e.State == store.StateDone && slices.Contains([]string{f.Manual, f.Quarantine}, e.Folder) &&
		e.Key.Mailbox != store.APIMailbox && (d.Reply == nil || d.Reply.State != store.OutboxPending)
	v := s.viewFor(ss, "Message "+strconv.FormatInt(id, 10), "manual")
	v.Data = d
	v.Flash = r.URL.Query().Get("ok")
	s.pages.render(w, http.StatusOK, "message", v)
}

func (s *Server) markHandled(w http.ResponseWriter, r *http.Request, ss *session) {
	id, ok := s.pathID(w, r, ss, "Message inconnu.")
	if !ok {
		return
	}
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	if err := s.o.Store.MarkHandled(r.Context(), id, ss.user, comment, s.o.Now()); err != nil {
		s.fail(w, ss, statusOf(err), "Impossible de marquer ce message comme traité.")
		return
	}
	http.Redirect(w, r, "/messages/"+strconv.FormatInt(id, 10)+"?ok="+url.QueryEscape("Message marqué comme traité."), http.StatusSeeOther)
}

func (s *Server) retry(w http.ResponseWriter, r *http.Request, ss *session) {
	id, ok := s.pathID(w, r, ss, "Message inconnu.")
	if !ok {
		return
	}
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	if err := s.o.Daemon.Retry(r.Context(), id, ss.user, comment); err != nil {
		s.o.Logger.Warn("console: retry refused", "claim", id, "err", err)
		s.fail(w, ss, statusOf(err), "Nouvelle décision impossible : "+err.Error())
		return
	}
	http.Redirect(w, r, "/messages/"+strconv.FormatInt(id, 10)+"?ok="+url.QueryEscape("Message remis dans la boîte : il va être décidé à nouveau."), http.StatusSeeOther)
}
