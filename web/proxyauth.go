package web

import (
	"net"
	"net/http"
	"strings"
)

// fromProxy returns the user a trusted reverse proxy names in
// console.trusted_header, or nil: when the header is not configured, when
// the request does not come from one of console.trusted_proxies, or when
// the name is not among console.users. A request from anywhere else
// carrying the header is not believed.
func (s *Server) fromProxy(r *http.Request) (name, role string, ok bool) {
	cfg := s.o.Config.Console
	if cfg.TrustedHeader == "" {
		return "", "", false
	}
	name = strings.TrimSpace(r.Header.Get(cfg.TrustedHeader))
	ip := net.ParseIP(clientIP(r))
	if name == "" || ip == nil || !trusted(ip, cfg.TrustedProxies) {
		return "", "", false
	}
	for _, u := range cfg.Users {
		if u.Name == name {
			return u.Name, u.Role, true
		}
	}
	return "", "", false
}

func trusted(ip net.IP, proxies []string) bool {
	for _, p := range proxies {
		if _, n, err := net.ParseCIDR(p); err == nil && n.Contains(ip) {
			return true
		}
		if q := net.ParseIP(p); q != nil && q.Equal(ip) {
			return true
		}
	}
	return false
}

// proxySession returns the session of a user the trusted proxy names,
// opening one (and setting its cookie) on the first request, so that the
// forms get a CSRF token like after a log-in.
func (s *Server) proxySession(w http.ResponseWriter, r *http.Request) *session {
	name, role, ok := s.fromProxy(r)
	if !ok {
		return nil
	}
	tok, ss := s.sessions.open(name, role)
	http.SetCookie(w, s.cookie(sessionCookie, tok, int(s.o.Config.Console.SessionTTL.D().Seconds())))
	return ss
}
