package mailenv_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/cpam/attestd/internal/mailenv"
)

// fakeMailpit serves n message summaries the way Mailpit pages them, and
// answers the chaos API as Mailpit does when started without --enable-chaos.
func fakeMailpit(t *testing.T, n int) *mailenv.Mailpit {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/messages", func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		var items []string
		for i := start; i < n && i < start+limit; i++ {
			items = append(items, fmt.Sprintf(`{"ID":"id%d","MessageID":"m%d@x","From":{"Name":"","Address":"a@x"},"To":[{"Name":"B","Address":"b@y"}],"Subject":"s%d","Created":"2026-11-25T18:20:33.764Z"}`, i, i, i))
		}
		fmt.Fprintf(w, `{"total":%d,"messages":[%s]}`, n, strings.Join(items, ","))
	})
	mux.HandleFunc("PUT /api/v1/chaos", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Chaos is not enabled", http.StatusBadRequest)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &mailenv.Mailpit{API: srv.URL, HTTP: srv.Client()}
}

func TestMessagesReadsEveryPage(t *testing.T) {
	const n = 450 // three pages
	mp := fakeMailpit(t, n)
	msgs, err := mp.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("Messages returned %d messages, want %d", len(msgs), n)
	}
	last := msgs[n-1]
	if last.ID != "id449" || last.MessageID != "m449@x" || last.Subject != "s449" ||
		last.From.Address != "a@x" || len(last.To) != 1 || last.To[0].Address != "b@y" || last.Created.IsZero() {
		t.Errorf("last message decoded as %+v", last)
	}
}

func TestSetChaosSaysHowToEnableIt(t *testing.T) {
	mp := fakeMailpit(t, 0)
	err := mp.SetChaos(context.Background(), mailenv.ChaosTriggers{Recipient: mailenv.ChaosTrigger{ErrorCode: 451, Probability: 50}})
	if err == nil || !strings.Contains(err.Error(), "--enable-chaos") {
		t.Errorf("SetChaos without chaos enabled: err = %v, want a hint to start Mailpit with --enable-chaos", err)
	}
}
