// Package bench holds Turnpike's benchmarks. Each reports its figure next to a baseline
// measured in the same run (b.ReportMetric), so results compare across machines as ratios.
//
//	go test -run '^$' -bench . -benchmem ./bench/
package bench
