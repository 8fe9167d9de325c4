package netish

import "testing"

func TestReaderAndWriter(t *testing.T) { Start() }
