package pool

import "testing"

func TestPool(t *testing.T) { New(2) }
