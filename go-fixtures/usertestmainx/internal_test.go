package usertestmainx

import (
	"os"
	"testing"
)

func TestQueuePopLeak(t *testing.T) {
	if os.Getenv("USERTESTMAINX_SETUP") != "1" {
		t.Fatal("TestMain did not run")
	}
	// Nothing is ever pushed.
	q := NewQueue(1)
	go q.Pop() // want-leak: TestQueuePopLeak
}
