package b

import (
	"testing"

	"leakcheck.test/adopt/perpkg"
)

func TestStartInB(t *testing.T) { perpkg.Start() }
