package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cpam/attestd/config"
	"github.com/cpam/attestd/rules"
)

// fleet is the daemon as child processes: one, or the replicas of a
// cluster sharing the store and the mailboxes. Its figures are their sums.
type fleet struct {
	children []*child
	done     chan struct{} // closed when any child exits
}

// startFleet starts n replicas of the daemon (see startChild).
func startFleet(command []string, cfg config.Config, secrets map[string]string, today rules.Date, dir string, n int, log io.Writer) (*fleet, error) {
	if n > 1 {
		log = &lockedWriter{w: log}
	}
	f := &fleet{done: make(chan struct{})}
	var once sync.Once
	for i := range n {
		c, err := startChild(command, cfg, secrets, today, dir, i, log)
		if err != nil {
			f.stop()
			return nil, err
		}
		f.children = append(f.children, c)
		go func() { <-c.done; once.Do(func() { close(f.done) }) }()
	}
	return f, nil
}

func (f *fleet) metricsURLs() []string {
	var out []string
	for _, c := range f.children {
		out = append(out, c.base)
	}
	return out
}

func (f *fleet) isolated() bool          { return true }
func (f *fleet) exited() <-chan struct{} { return f.done }

// cpu sums the replicas' CPU time.
func (f *fleet) cpu(ctx context.Context) (time.Duration, error) {
	var sum time.Duration
	for _, c := range f.children {
		d, err := c.cpu(ctx)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// stop stops every replica and sums their peak memory.
func (f *fleet) stop() (int64, error) {
	var peak int64
	var errs []error
	for i, c := range f.children {
		p, err := c.stop()
		peak += p
		if err != nil && len(f.children) > 1 {
			err = fmt.Errorf("replica %d: %w", i+1, err)
		}
		errs = append(errs, err)
	}
	return peak, errors.Join(errs...)
}

func (f *fleet) lastWords() string {
	var out []string
	for i, c := range f.children {
		select {
		case <-c.done:
			out = append(out, fmt.Sprintf("replica %d exited (%v); its log ends with:\n%s", i+1, c.err, c.tail.String()))
		default:
		}
	}
	return strings.Join(out, "\n")
}

// lockedWriter lets several children's output go to one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
