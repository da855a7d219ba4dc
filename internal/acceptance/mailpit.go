package acceptance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MailpitReplies reads the replies from Mailpit's HTTP API
// (https://mailpit.axllent.org/docs/api-v1/), where a test deployment's
// relay keeps every message it accepts. Only messages received after
// NewMailpitReplies are considered. It is not safe for concurrent use.
type MailpitReplies struct {
	api  string
	http *http.Client
	// floor: messages created before it were there before the run.
	floor time.Time
	seen  map[string]bool
	// byReplyTo holds the replies read so far, by their In-Reply-To.
	byReplyTo map[string][]Reply
}

// mailpitSummary is the part of Mailpit's message summary used here.
type mailpitSummary struct {
	ID          string
	To, Cc, Bcc []struct{ Address string }
	Created     time.Time
}

// ParseMailpitURL reads mailpit+http://host:port (or mailpit+https://) and
// returns the API's base URL.
func ParseMailpitURL(raw string) (string, error) {
	rest, ok := strings.CutPrefix(raw, "mailpit+")
	if !ok || !(strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://")) {
		return "", fmt.Errorf("%s: not a Mailpit URL: write mailpit+http://HOST:PORT", raw)
	}
	u, err := url.Parse(rest)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%s: not a Mailpit URL: write mailpit+http://HOST:PORT", raw)
	}
	return strings.TrimRight(rest, "/"), nil
}

// NewMailpitReplies connects to the Mailpit API at api (http://host:port)
// and notes the messages already there, which are not replies of this run.
// client nil means http.DefaultClient.
func NewMailpitReplies(ctx context.Context, api string, client *http.Client) (*MailpitReplies, error) {
	if client == nil {
		client = http.DefaultClient
	}
	m := &MailpitReplies{api: strings.TrimRight(api, "/"), http: client, seen: map[string]bool{}, byReplyTo: map[string][]Reply{}}
	page, err := m.page(ctx, 0, 1)
	if err != nil {
		return nil, err
	}
	for _, s := range page {
		// Mailpit lists the newest first: this and all older are old.
		m.floor = s.Created
		m.seen[s.ID] = true
	}
	return m, nil
}

// pageSize is how many summaries one request asks for.
const pageSize = 100

// Find reads the messages that arrived since the last call and returns
// those answering ids.
func (m *MailpitReplies) Find(ctx context.Context, ids []string) (map[string][]Reply, error) {
	if err := m.update(ctx); err != nil {
		return nil, err
	}
	found := map[string][]Reply{}
	for _, id := range ids {
		if rs := m.byReplyTo[id]; len(rs) > 0 {
			found[id] = rs
		}
	}
	return found, nil
}

// update reads every message newer than the floor that it has not read yet.
// Messages are listed newest first; the listing stops at the floor.
func (m *MailpitReplies) update(ctx context.Context) error {
	for start := 0; ; start += pageSize {
		page, err := m.page(ctx, start, pageSize)
		if err != nil {
			return err
		}
		for _, s := range page {
			if s.Created.Before(m.floor) {
				return nil
			}
			if m.seen[s.ID] {
				continue
			}
			raw, err := m.raw(ctx, s.ID)
			if err != nil {
				return err
			}
			m.seen[s.ID] = true
			id := strings.Trim(strings.TrimSpace(headerOf(raw, "In-Reply-To")), "<>")
			if id == "" {
				continue
			}
			var to []string
			for _, a := range slices.Concat(s.To, s.Cc, s.Bcc) {
				if addr := strings.ToLower(a.Address); !slices.Contains(to, addr) {
					to = append(to, addr)
				}
			}
			m.byReplyTo[id] = append(m.byReplyTo[id], Reply{Raw: raw, Recipients: to})
		}
		if len(page) < pageSize {
			return nil
		}
	}
}

// page lists limit summaries from start, newest first.
func (m *MailpitReplies) page(ctx context.Context, start, limit int) ([]mailpitSummary, error) {
	q := url.Values{"start": {strconv.Itoa(start)}, "limit": {strconv.Itoa(limit)}}
	body, err := m.get(ctx, "/api/v1/messages?"+q.Encode())
	if err != nil {
		return nil, err
	}
	var page struct{ Messages []mailpitSummary }
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("mailpit %s: the message list is not Mailpit's JSON: %w", m.api, err)
	}
	return page.Messages, nil
}

// raw returns one message as Mailpit received it.
func (m *MailpitReplies) raw(ctx context.Context, id string) ([]byte, error) {
	return m.get(ctx, "/api/v1/message/"+url.PathEscape(id)+"/raw")
}

func (m *MailpitReplies) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.api+path, nil)
	if err != nil {
		return nil, fmt.Errorf("mailpit: %w", err)
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mailpit: %w (is Mailpit's API at %s?)", err, m.api)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("mailpit: GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mailpit: GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body[:min(len(body), 200)])))
	}
	return body, nil
}
