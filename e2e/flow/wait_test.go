package flow_test

import "time"

// waitABit paces polling loops that wait for a condition.
func waitABit() { time.Sleep(20 * time.Millisecond) }
