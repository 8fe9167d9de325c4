// Package a uses perpkg.Start; its goroutine is ignored here.
//
// want: TestStartInA=pass/ignored:1
package a
