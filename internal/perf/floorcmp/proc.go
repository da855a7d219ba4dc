//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a responder running as a child process, so that its CPU time and
// memory are its own.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs argv and waits until it answers: the floor prints readyLine;
// attestd answers 200 on ready, or is given settle when ready is empty.
func start(ctx context.Context, argv []string, isFloor bool, ready string, settle time.Duration, log io.Writer) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = log
	p := &proc{cmd: cmd, done: make(chan struct{})}
	readyc := make(chan struct{})
	if isFloor {
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if sc.Text() == readyLine {
					close(readyc)
				}
			}
		}()
	} else {
		cmd.Stdout = log
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	var err error
	switch {
	case isFloor:
		err = p.waitFor(ctx, readyc, 30*time.Second)
	case ready != "":
		err = p.waitHTTP(ctx, ready, 60*time.Second)
	default:
		err = p.waitFor(ctx, nil, settle)
		if err == context.DeadlineExceeded {
			err = nil
		}
	}
	if err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// waitFor waits for c, the end of the process, ctx, or timeout.
func (p *proc) waitFor(ctx context.Context, c <-chan struct{}, timeout time.Duration) error {
	select {
	case <-c:
		return nil
	case <-p.done:
		return fmt.Errorf("%s exited before it was ready", p.cmd.Path)
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
		return context.DeadlineExceeded
	}
}

// waitHTTP polls url until it answers 200.
func (p *proc) waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := p.waitFor(ctx, nil, 100*time.Millisecond); err != context.DeadlineExceeded {
			return err
		}
	}
	return fmt.Errorf("%s not ready at %s within %s", p.cmd.Path, url, timeout)
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's times: 100 on Linux.
const clockTick = 10 * time.Millisecond

// cpu returns the process's user and system CPU time so far.
func (p *proc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are the 14th and 15th of the line.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", p.cmd.Process.Pid)
	}
	var ticks int64
	for _, x := range f[11:13] {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// idleCPU returns the share of one core the process used over window,
// after a pause for the last run's work to end and the responder to settle
// (attestd polls for 5 s after the last new mail, see imap.busy_poll).
func (p *proc) idleCPU(after, window time.Duration) (float64, error) {
	time.Sleep(after)
	before, err := p.cpu()
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	time.Sleep(window)
	end, err := p.cpu()
	if err != nil {
		return 0, err
	}
	return float64(end-before) / float64(time.Since(t0)), nil
}

// stop ends the process with SIGTERM and returns its peak RSS in bytes.
func (p *proc) stop() (int64, error) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
		return 0, fmt.Errorf("%s did not stop within 30 s of SIGTERM", p.cmd.Path)
	}
	ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, fmt.Errorf("no resource usage for %s", p.cmd.Path)
	}
	return ru.Maxrss * 1024, nil
}

// kill ends the process at once, if it still runs.
func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
