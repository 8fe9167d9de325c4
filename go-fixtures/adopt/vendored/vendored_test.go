package vendored

import "testing"

func TestVendoredLoop(t *testing.T) {
	Every(make(chan int), func(int) {})
}
