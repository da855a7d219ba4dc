package mailenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Mailpit is a client for the HTTP API of Mailpit v1.33
// (https://mailpit.axllent.org/docs/api-v1/). The zero HTTP uses
// http.DefaultClient.
type Mailpit struct {
	// API is the base URL, e.g. http://127.0.0.1:18025.
	API string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
}

// MailpitMessage is the summary Mailpit keeps of a message it received. The
// addresses are those of the headers; an envelope recipient that no header
// names is listed in Bcc.
type MailpitMessage struct {
	// ID is Mailpit's identifier, for Raw.
	ID string
	// MessageID is the Message-ID header, without angle brackets.
	MessageID string
	// From is the From header's address.
	From mail.Address
	// To, Cc and Bcc are the recipients.
	To, Cc, Bcc []mail.Address
	// Subject is the decoded Subject header.
	Subject string
	// Created is when Mailpit received the message.
	Created time.Time
}

// pageSize is how many summaries Messages asks for at a time.
const pageSize = 200

// Messages returns every message Mailpit holds, newest first (Mailpit's order).
func (m *Mailpit) Messages(ctx context.Context) ([]MailpitMessage, error) {
	var all []MailpitMessage
	seen := make(map[string]bool)
	for start := 0; ; start += pageSize {
		var page struct {
			Total    int              `json:"total"`
			Messages []MailpitMessage `json:"messages"`
		}
		q := url.Values{"start": {strconv.Itoa(start)}, "limit": {strconv.Itoa(pageSize)}}
		if err := m.getJSON(ctx, "/api/v1/messages?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		for _, msg := range page.Messages {
			// A message arriving between two pages shifts the list: skip repeats.
			if !seen[msg.ID] {
				seen[msg.ID] = true
				all = append(all, msg)
			}
		}
		if len(page.Messages) < pageSize || start+pageSize >= page.Total {
			return all, nil
		}
	}
}

// Raw returns the message with Mailpit ID id exactly as it was received.
func (m *Mailpit) Raw(ctx context.Context, id string) ([]byte, error) {
	resp, err := m.do(ctx, http.MethodGet, "/api/v1/message/"+url.PathEscape(id)+"/raw", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("mailpit: reading message %s: %w", id, err)
	}
	return raw, nil
}

// DeleteAll deletes every message Mailpit holds.
func (m *Mailpit) DeleteAll(ctx context.Context) error {
	resp, err := m.do(ctx, http.MethodDelete, "/api/v1/messages", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Await polls Messages until done reports true for what it returned, and
// returns those messages. It polls every 50 ms and gives up when ctx ends,
// returning ctx's error with the last messages seen.
func (m *Mailpit) Await(ctx context.Context, done func([]MailpitMessage) bool) ([]MailpitMessage, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		msgs, err := m.Messages(ctx)
		if err == nil && done(msgs) {
			return msgs, nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return msgs, fmt.Errorf("mailpit: waiting for messages: %w (last error: %v)", ctx.Err(), err)
			}
			return msgs, fmt.Errorf("mailpit: waiting for messages: %w (%d messages, none as expected)", ctx.Err(), len(msgs))
		case <-tick.C:
		}
	}
}

// getJSON decodes the JSON answer to GET path into v.
func (m *Mailpit) getJSON(ctx context.Context, path string, v any) error {
	resp, err := m.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("mailpit: GET %s: decoding the answer: %w", path, err)
	}
	return nil
}

// do sends a request and returns the response when its status is 200; any
// other status is an error carrying Mailpit's message.
func (m *Mailpit) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	u := strings.TrimRight(m.API, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("mailpit: %s %s: %w", method, u, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := m.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mailpit: %s %s: %w (is Mailpit running? .ci/servers.sh start)", method, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("mailpit: %s %s: %s: %s", method, u, resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}
