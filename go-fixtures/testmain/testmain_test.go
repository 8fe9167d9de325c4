package testmain

import (
	"testing"
	"time"
)

func TestSetupRan(t *testing.T) {
	if !setupDone {
		t.Fatal("TestMain did not run")
	}
}

func TestRecordMetrics(t *testing.T) {
	before := Flushed()
	metrics <- Metric{Name: "requests", Value: 1}
	metrics <- Metric{Name: "requests", Value: 2}
	deadline := time.Now().Add(time.Second)
	for Flushed() < before+2 {
		if time.Now().After(deadline) {
			t.Fatal("metrics were not flushed")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLeakAfterTestMain(t *testing.T) {
	never := make(chan struct{})
	go waitForever(never) // want-leak: TestLeakAfterTestMain
}
