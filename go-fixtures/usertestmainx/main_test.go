package usertestmainx_test

import (
	"os"
	"testing"

	"leakcheck.test/fixtures/usertestmainx"
)

var setupDone bool

func TestMain(m *testing.M) {
	os.Setenv("USERTESTMAINX_SETUP", "1")
	setupDone = true
	os.Exit(m.Run())
}

func TestQueueClean(t *testing.T) {
	if !setupDone {
		t.Fatal("TestMain did not run")
	}
	q := usertestmainx.NewQueue(1)
	got := make(chan string)
	go func() { got <- q.Pop() }()
	q.Push("item")
	if s := <-got; s != "item" {
		t.Fatalf("got %q", s)
	}
}
