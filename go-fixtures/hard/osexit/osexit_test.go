package osexit

import (
	"os"
	"testing"
)

func TestExitBefore1(t *testing.T) {}

func TestExitBefore2(t *testing.T) {
	if len(os.Args) == 0 {
		t.Fatal("no os.Args")
	}
}

func TestOsExit3(t *testing.T) {
	os.Exit(3)
}

func TestExitAfter1(t *testing.T) {}

func TestExitAfter2(t *testing.T) {}
