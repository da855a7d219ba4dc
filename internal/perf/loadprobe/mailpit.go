package loadprobe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// errGone is a message Mailpit no longer has (it prunes the oldest beyond
// its --max; .ci/perf.sh turns that off).
var errGone = errors.New("message gone")

// mailpit reads the replies from Mailpit's HTTP API.
type mailpit struct{ base string }

type mpMessage struct {
	ID      string    `json:"ID"`
	Created time.Time `json:"Created"`
}

// collect polls Mailpit until every request of sentAt has a reply or the
// deadline passes, and returns the arrival times of the replies by the
// Message-ID they answer.
func (m mailpit) collect(ctx context.Context, sentAt map[string]time.Time, deadline time.Time) (map[string][]time.Time, error) {
	got := map[string][]time.Time{}
	seen := map[string]bool{}
	for time.Now().Before(deadline) {
		msgs, err := m.list(ctx)
		if err != nil {
			return nil, err
		}
		for _, msg := range msgs {
			if seen[msg.ID] {
				continue
			}
			seen[msg.ID] = true
			irt, err := m.inReplyTo(ctx, msg.ID)
			if errors.Is(err, errGone) {
				continue // pruned by Mailpit between the list and now
			}
			if err != nil {
				return nil, err
			}
			if _, ok := sentAt[irt]; ok {
				got[irt] = append(got[irt], msg.Created)
			}
		}
		if len(got) >= len(sentAt) {
			break
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return got, nil
}

func (m mailpit) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("mailpit %s: %w", path, errGone)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (m mailpit) list(ctx context.Context) ([]mpMessage, error) {
	var all []mpMessage
	for start := 0; ; start += 500 {
		var page struct {
			Messages []mpMessage `json:"messages"`
		}
		if err := m.get(ctx, fmt.Sprintf("/api/v1/messages?start=%d&limit=500", start), &page); err != nil {
			return nil, err
		}
		all = append(all, page.Messages...)
		if len(page.Messages) < 500 {
			return all, nil
		}
	}
}

func (m mailpit) inReplyTo(ctx context.Context, id string) (string, error) {
	var h map[string][]string
	if err := m.get(ctx, "/api/v1/message/"+id+"/headers", &h); err != nil {
		return "", err
	}
	for k, v := range h {
		if strings.EqualFold(k, "In-Reply-To") && len(v) > 0 {
			return strings.Trim(strings.TrimSpace(v[0]), "<>"), nil
		}
	}
	return "", nil
}

func (m mailpit) clear(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, m.base+"/api/v1/messages", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit: emptying: %s", resp.Status)
	}
	return nil
}
