package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
)

// Garbage-collector defaults of `attestd run`, unless GOGC or GOMEMLIMIT
// say otherwise. Every attestation allocates about 6 MB that is garbage
// as soon as the PDF is out; with Go's default (GOGC=100) the collector
// runs every few messages and `attestd bench` spends a third more CPU per
// message. GOGC=400 lets the heap grow to five times what is live (about
// 100 MB at full load), and the memory limit makes the collector work
// harder rather than let the heap pass 160 MiB.
const (
	gcPercent   = 400
	memoryLimit = 160 << 20
)

// tuneGC applies the defaults the environment does not override.
func tuneGC(log *slog.Logger) {
	gogc := os.Getenv("GOGC")
	if gogc == "" {
		debug.SetGCPercent(gcPercent)
		gogc = strconv.Itoa(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	// A negative limit reads the current one without changing it.
	log.Info("garbage collector", "gogc", gogc, "memory_limit_bytes", debug.SetMemoryLimit(-1))
}
