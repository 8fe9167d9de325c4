//go:build !linux

// Orphans: see orphans_linux.go (leakcheck checks processes on Linux
// only, and never sends adopt=1 elsewhere).

package testing

func leakcheckAdoptOrphans() {}
