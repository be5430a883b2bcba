package main

import (
	"runtime/debug"
	"testing"

	"github.com/turnpike/turnpike/runtime/config"
)

func TestTuneGCLeavesTheOperatorsSettings(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })
	read := func() (int, int64) {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p, debug.SetMemoryLimit(-1)
	}
	set := func(p int, l int64) { debug.SetGCPercent(p); debug.SetMemoryLimit(l) }
	gc := config.GCConfig{Percent: 400, MemoryLimitMiB: 192}

	set(100, 1<<40)
	tuneGC(gc, func(string) string { return "" })
	if p, l := read(); p != 400 || l != 192<<20 {
		t.Errorf("unset GOGC and GOMEMLIMIT: percent %d, limit %d; want 400 and %d", p, l, 192<<20)
	}

	set(100, 1<<40)
	tuneGC(gc, func(k string) string { return map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}[k] })
	if p, l := read(); p != 100 || l != 1<<40 {
		t.Errorf("GOGC and GOMEMLIMIT set: percent %d, limit %d; want both left alone", p, l)
	}

	set(100, 1<<40)
	tuneGC(config.GCConfig{}, func(string) string { return "" })
	if p, l := read(); p != 100 || l != 1<<40 {
		t.Errorf("zero settings: percent %d, limit %d; want both left alone", p, l)
	}
}
