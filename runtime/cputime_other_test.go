//go:build !linux

package runtime

import "testing"

// cpuClock reports nothing where there is no per-thread CPU clock.
type cpuClock struct{}

func startCPU() cpuClock                   { return cpuClock{} }
func (cpuClock) threadSince(b *testing.B)  {}
func (cpuClock) processSince(b *testing.B) {}
