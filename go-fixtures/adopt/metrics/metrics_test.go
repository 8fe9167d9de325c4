package metrics

import "testing"

func TestFlusher(t *testing.T) { StartFlusher() }
