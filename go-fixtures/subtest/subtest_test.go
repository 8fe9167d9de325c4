package subtest

import (
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestWithSubtests(t *testing.T) {
	t.Run("a", func(t *testing.T) {
		ch := make(chan struct{})
		done := make(chan struct{})
		go func() {
			waitFor(ch)
			close(done)
		}()
		close(ch)
		<-done
	})
	t.Run("b", func(t *testing.T) {
		// Nobody ever sends on or closes never.
		never := make(chan struct{})
		go waitFor(never) // want-leak: TestWithSubtests subtest=TestWithSubtests/b
	})
}

func TestCleanSubtests(t *testing.T) {
	run := func(t *testing.T) {
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
			}()
		}
		wg.Wait()
	}
	t.Run("x", run)
	t.Run("y", func(t *testing.T) {
		t.Run("nested", run)
	})
	t.Run("z", run)
}

func TestNestedSubtests(t *testing.T) {
	t.Run("outer", func(t *testing.T) {
		t.Run("inner", func(t *testing.T) {
			never := make(chan struct{})
			go waitFor(never) // want-leak: TestNestedSubtests subtest=TestNestedSubtests/outer/inner
		})
		t.Run("clean", func(t *testing.T) {
			done := make(chan struct{})
			go func() { close(done) }()
			<-done
		})
	})
}

func TestParallelSubtests(t *testing.T) {
	for _, name := range []string{"p1", "p2", "p3"} {
		name := name
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if name == "p2" {
				never := make(chan struct{})
				go waitFor(never) // want-leak: TestParallelSubtests subtest=TestParallelSubtests/p2
				return
			}
			done := make(chan struct{})
			go func() { close(done) }()
			<-done
		})
	}
}

func TestTableDriven(t *testing.T) {
	cases := []struct {
		name string
		leak bool
	}{
		{"empty input", false},
		{"closed early", true},
		{"full", false},
	}
	for _, tc := range cases {
		tc := tc
		t.Run(tc.name, func(t *testing.T) {
			never := make(chan struct{})
			if tc.leak {
				go waitFor(never) // want-leak: TestTableDriven subtest=TestTableDriven/closed_early
			}
		})
	}
}

// runSuite runs every Test method of suite as a subtest of t, the way
// testify's suite.Run and gocheck do.
func runSuite(t *testing.T, suite any) {
	v := reflect.ValueOf(suite)
	for i := 0; i < v.NumMethod(); i++ {
		method := v.Type().Method(i)
		if !strings.HasPrefix(method.Name, "Test") {
			continue
		}
		call := v.Method(i)
		t.Run(method.Name, func(t *testing.T) {
			call.Call([]reflect.Value{reflect.ValueOf(t)})
		})
	}
}

// queueSuite is a testify-style suite: one of its tests leaks.
type queueSuite struct{}

func (queueSuite) TestPushPop(t *testing.T) {
	q := make(chan int, 1)
	q <- 1
	if <-q != 1 {
		t.Fatal("lost the value")
	}
}

func (queueSuite) TestWatchLeaks(t *testing.T) {
	never := make(chan struct{})
	go waitFor(never) // want-leak: TestQueueSuite subtest=TestQueueSuite/TestWatchLeaks
}

func TestQueueSuite(t *testing.T) { runSuite(t, queueSuite{}) }
