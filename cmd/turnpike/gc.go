package main

import (
	"runtime/debug"

	"github.com/turnpike/turnpike/runtime/config"
)

// tuneGC applies the configured garbage-collector settings, each only when the operator has
// not set the Go runtime's own variable (GOGC, GOMEMLIMIT), which the runtime already read.
func tuneGC(gc config.GCConfig, getenv func(string) string) {
	if gc.Percent > 0 && getenv("GOGC") == "" {
		debug.SetGCPercent(gc.Percent)
	}
	if gc.MemoryLimitMiB > 0 && getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(gc.MemoryLimitMiB) << 20)
	}
}
