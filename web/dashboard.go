package web

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cpam/attestd/rules"
	"github.com/cpam/attestd/store"
)

// dashboardData is what dashboard.html shows.
type dashboardData struct {
	QueueDepth    int
	OldestWaiting time.Time
	ManualCount   int
	Total         int
	Totals        []outcomeTotal
	Chart         template.HTML
	Health        *health // nil without metrics
}

type outcomeTotal struct {
	Outcome rules.Outcome
	N       int
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	now := s.o.Now()
	var d dashboardData
	counts, err := s.o.Store.OutcomesPerHour(ctx, now.Add(-24*time.Hour).Truncate(time.Hour))
	if err == nil {
		d.QueueDepth, err = s.o.Store.OutboxDepth(ctx)
	}
	if err == nil {
		d.OldestWaiting, err = s.o.Store.OldestPending(ctx)
	}
	var manual []store.Entry
	if err == nil {
		f := s.o.Config.IMAP.Folders
		manual, err = s.o.Store.Entries(ctx, store.EntryFilter{Folders: []string{f.Manual, f.Quarantine}, Limit: 1000})
	}
	if err != nil {
		s.fail(w, ss, http.StatusInternalServerError, "Le registre est illisible pour le moment.")
		return
	}
	for _, e := range manual {
		if e.Handled.IsZero() {
			d.ManualCount++
		}
	}
	byOutcome := map[rules.Outcome]int{}
	for _, c := range counts {
		byOutcome[c.Outcome] += c.N
		d.Total += c.N
	}
	for _, o := range rules.Outcomes {
		if byOutcome[o] > 0 {
			d.Totals = append(d.Totals, outcomeTotal{o, byOutcome[o]})
		}
	}
	d.Chart = hourChart(counts, now)
	d.Health = s.readHealth()
	v := s.viewFor(ss, "Tableau de bord", "dashboard")
	v.Data = d
	s.pages.render(w, http.StatusOK, "dashboard", v)
}

// chartColors are one colour per outcome group: issued, refused by the
// rules, identity, handled by a person, no reply.
func chartColor(o rules.Outcome) string {
	switch o {
	case rules.Issued:
		return "#1e7b34"
	case rules.AddressMissing, rules.RightsClosed, rules.BeneficiaryUnknown, rules.BeneficiaryAmbiguous:
		return "#e0a800"
	case rules.SenderUnverified, rules.NotAttestation, rules.Failed, rules.Rejected:
		return "#b00020"
	}
	return "#5a6b85"
}

// hourChart draws the outcomes of the last 24 hours as stacked bars, one per
// hour, in SVG: no script, a title per bar for screen readers and tooltips.
func hourChart(counts []store.HourCount, now time.Time) template.HTML {
	const w, h, bar = 720, 180, 26
	first := now.Truncate(time.Hour).Add(-23 * time.Hour)
	perHour := make([]map[rules.Outcome]int, 24)
	maxN := 1
	for _, c := range counts {
		i := int(c.Hour.Sub(first) / time.Hour)
		if i < 0 || i >= 24 {
			continue
		}
		if perHour[i] == nil {
			perHour[i] = map[rules.Outcome]int{}
		}
		perHour[i][c.Outcome] += c.N
	}
	for _, m := range perHour {
		n := 0
		for _, v := range m {
			n += v
		}
		maxN = max(maxN, n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg role="img" aria-labelledby="chart-title" viewBox="0 0 %d %d" width="100%%" style="max-width:%dpx">`, w, h+24, w)
	fmt.Fprintf(&b, `<title id="chart-title">Décisions par heure sur 24 heures, maximum %d par heure</title>`, maxN)
	for i, m := range perHour {
		x, y := i*30+4, h
		hour := first.Add(time.Duration(i) * time.Hour).In(paris)
		keys := make([]rules.Outcome, 0, len(m))
		for o := range m {
			keys = append(keys, o)
		}
		slices.Sort(keys)
		for _, o := range keys {
			bh := m[o] * (h - 10) / maxN
			y -= bh
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s h : %d %s</title></rect>`,
				x, y, bar, bh, chartColor(o), hour.Format("15"), m[o], template.HTMLEscapeString(outcomeLabel(o)))
		}
		if i%3 == 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11">%sh</text>`, x, h+16, hour.Format("15"))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and escaped labels only
}
