// Package leaky has a watcher whose goroutine outlives its caller when
// the caller stops reading: the leak leakcheck reports.
package leaky

import "strings"

// Watch sends each of lines, upper-cased, on the channel it returns. A
// caller that stops reading early leaves the goroutine blocked forever.
func Watch(lines []string) <-chan string {
	out := make(chan string)
	go func() { // the leaking goroutine is created here
		for _, l := range lines {
			out <- strings.ToUpper(l)
		}
		close(out)
	}()
	return out
}

// Parse splits a comma-separated list.
func Parse(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
