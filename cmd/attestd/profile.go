package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"
)

// profileFlags are `attestd run`'s profiling flags (docs/performance.md):
// where the CPU goes, where goroutines block on locks and channels, and
// where they wait whatever the cause (network, SQLite, locks), sampled.
type profileFlags struct {
	cpu, block, mutex, waits, trace string
}

func (p *profileFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.cpu, "cpuprofile", "", "write a CPU profile of the run to FILE (go tool pprof)")
	fs.StringVar(&p.block, "blockprofile", "", "write where goroutines blocked on channels and locks to FILE, at the end")
	fs.StringVar(&p.mutex, "mutexprofile", "", "write the contended mutexes to FILE, at the end")
	fs.StringVar(&p.waits, "waitprofile", "", "write the stacks of all goroutines every 50 ms into the directory DIR, one file a sample: "+
		"`go tool pprof -top DIR/*.pb.gz` shows where they run or wait (network, SQLite, locks)")
	fs.StringVar(&p.trace, "trace", "", "write an execution trace of the run to FILE (go tool trace; "+
		"`go tool trace -pprof=net FILE` sums the time blocked on the network by stack, sync and syscall likewise)")
}

// start starts what p asks for; the returned function writes the profiles
// and must be called once the run is over.
func (p *profileFlags) start() (stop func() error, err error) {
	var cpu *os.File
	if p.cpu != "" {
		if cpu, err = os.Create(p.cpu); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, err
		}
	}
	var tr *os.File
	if p.trace != "" {
		if tr, err = os.Create(p.trace); err != nil {
			return nil, err
		}
		if err := trace.Start(tr); err != nil {
			tr.Close()
			return nil, err
		}
	}
	if p.block != "" {
		runtime.SetBlockProfileRate(int(10 * time.Microsecond)) // one event in each 10 µs blocked
	}
	if p.mutex != "" {
		runtime.SetMutexProfileFraction(10)
	}
	done := make(chan struct{})
	sampled := make(chan error, 1)
	if p.waits != "" {
		if err := os.MkdirAll(p.waits, 0o755); err != nil {
			return nil, err
		}
		go func() { sampled <- sampleWaits(p.waits, done) }()
	} else {
		sampled <- nil
	}
	return func() error {
		close(done)
		err := <-sampled
		if tr != nil {
			trace.Stop()
			err = errors.Join(err, tr.Close())
		}
		if cpu != nil {
			pprof.StopCPUProfile()
			err = errors.Join(err, cpu.Close())
		}
		if p.block != "" {
			err = errors.Join(err, writeProfile("block", p.block))
		}
		if p.mutex != "" {
			err = errors.Join(err, writeProfile("mutex", p.mutex))
		}
		return err
	}, nil
}

func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = pprof.Lookup(name).WriteTo(f, 0)
	return errors.Join(err, f.Close())
}

// sampleWaits writes a goroutine profile every 50 ms into dir until done:
// summed by pprof, the samples say where the goroutines spend their wall
// time, running or not. Each file holds one sample of every goroutine.
func sampleWaits(dir string, done <-chan struct{}) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-done:
			return nil
		case <-t.C:
		}
		if err := writeProfile("goroutine", filepath.Join(dir, fmt.Sprintf("g%06d.pb.gz", i))); err != nil {
			return err
		}
	}
}
