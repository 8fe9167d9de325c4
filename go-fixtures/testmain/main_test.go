package testmain

import (
	"os"
	"testing"
)

var (
	setupDone bool
	metrics   chan Metric
)

func TestMain(m *testing.M) {
	metrics = make(chan Metric) // never closed: the flusher runs until exit
	StartFlusher(metrics)
	setupDone = true
	os.Exit(m.Run())
}
