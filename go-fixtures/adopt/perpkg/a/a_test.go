package a

import (
	"testing"

	"leakcheck.test/adopt/perpkg"
)

func TestStartInA(t *testing.T) { perpkg.Start() }
