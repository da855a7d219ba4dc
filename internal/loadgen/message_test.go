package loadgen

import (
	"strings"
	"testing"
	"time"

	"github.com/cpam/attestd/inbox"
	"github.com/cpam/attestd/samples"
)

func TestSetMessageID(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"replaced", "From: a@b\r\nMessage-ID: <old@x>\r\nSubject: s\r\n\r\nbody\r\n",
			"From: a@b\r\nMessage-ID: <new@y>\r\nSubject: s\r\n\r\nbody\r\n"},
		{"any case, folded", "message-id:\r\n <old@x>\r\nSubject: s\r\n\r\nbody\r\n",
			"Message-ID: <new@y>\r\nSubject: s\r\n\r\nbody\r\n"},
		{"absent", "From: a@b\r\n\r\nMessage-ID: <in the body>\r\n",
			"Message-ID: <new@y>\r\nFrom: a@b\r\n\r\nMessage-ID: <in the body>\r\n"},
		{"only in the body", "From: a@b\n\nMessage-ID: <old@x>\n",
			"Message-ID: <new@y>\nFrom: a@b\n\nMessage-ID: <old@x>\n"},
		{"last field, LF ends", "Subject: s\nMessage-Id: <old@x>\n\nbody\n",
			"Subject: s\nMessage-ID: <new@y>\n\nbody\n"},
		{"not a prefix", "Message-IDs: 3\r\n\r\n",
			"Message-ID: <new@y>\r\nMessage-IDs: 3\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(SetMessageID([]byte(tc.in), "new@y")); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// Every sample keeps reading the same under its new Message-ID.
func TestMixGivesEverySampleANewID(t *testing.T) {
	reqs := mix(samples.Requests(), 44, "t", samples.ExpectedCases())
	seen := map[string]bool{}
	replies := 0
	for _, r := range reqs {
		m, err := inbox.ParseMessage(r.raw, inbox.DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", r.kind, err)
		}
		if m.MessageID != r.messageID || seen[m.MessageID] {
			t.Errorf("%s: Message-ID %q, want the unique %q", r.kind, m.MessageID, r.messageID)
		}
		seen[m.MessageID] = true
		if !strings.Contains(string(r.raw), "Subject:") {
			t.Errorf("%s lost its header", r.kind)
		}
		if r.reply {
			replies++
		}
	}
	if replies != 36 {
		t.Errorf("%d requests expect a reply, want 36 (18 of the 22 samples, twice)", replies)
	}
}

func TestLatencyPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := latencyOf(ds)
	want := Latency{N: 100, P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if one := latencyOf([]time.Duration{7}); one.P50 != 7 || one.P99 != 7 || one.Max != 7 {
		t.Errorf("one sample: %+v", one)
	}
	if none := latencyOf(nil); none != (Latency{}) {
		t.Errorf("no sample: %+v", none)
	}
}
