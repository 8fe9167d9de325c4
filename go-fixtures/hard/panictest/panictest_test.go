package panictest

import "testing"

func TestPanicBefore1(t *testing.T) {}

func TestPanicBefore2(t *testing.T) {
	defer func() {
		if r := recover(); r != "recovered" {
			t.Fatalf("recover() = %v", r)
		}
	}()
	panic("recovered")
}

func TestPanicInTest(t *testing.T) {
	panic("boom in test")
}

func TestPanicAfter1(t *testing.T) {}

func TestPanicAfter2(t *testing.T) {}
