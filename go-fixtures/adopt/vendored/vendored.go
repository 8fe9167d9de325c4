// Package vendored stands for a third-party library with a background
// loop that calls back into user code. leakcheck.toml ignores any
// goroutine with a vendored frame anywhere in its stack (a prefix rule).
//
// want: TestVendoredLoop=pass/ignored:1
package vendored

// Every calls f for each value received, forever.
func Every(values <-chan int, f func(int)) {
	go loop(values, f)
}

func loop(values <-chan int, f func(int)) {
	for v := range values {
		f(v)
	}
}
