// Package handler is a leakcheck fixture for the "forgotten sender" leak.
//
// query is an HTTP handler that fans a search out to three replicas, each
// answering on an unbuffered channel, and writes only the first two answers.
// The third replica goroutine blocks forever on its send, so TestQuery leaks
// exactly one goroutine (created by the go statement inside the loop in
// query).
//
// queryFixed gives the channel a buffer large enough for every replica, so
// all three senders finish: TestQueryFixed is clean.
package handler

import (
	"fmt"
	"net/http"
)

const replicas = 3

// search simulates one replica answering a query.
func search(replica int, q string) string {
	return fmt.Sprintf("replica %d: results for %q", replica, q)
}

// query starts three replicas but reads only two replies: one sender leaks.
func query(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	results := make(chan string) // unbuffered: every send needs a receiver
	for i := 0; i < replicas; i++ {
		go func(i int) { results <- search(i, q) }(i) // want-leak: TestQuery
	}
	for i := 0; i < 2; i++ {
		fmt.Fprintln(w, <-results)
	}
}

// queryFixed is query with a buffered channel: no sender can block.
func queryFixed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	results := make(chan string, replicas)
	for i := 0; i < replicas; i++ {
		go func(i int) { results <- search(i, q) }(i)
	}
	for i := 0; i < 2; i++ {
		fmt.Fprintln(w, <-results)
	}
}
