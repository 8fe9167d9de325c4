// Package httpserver is a leakcheck fixture for a leak whose goroutine is
// created inside the standard library.
//
// TestServerNeverClosed starts an httptest.Server and never closes it: the
// server's accept loop goroutine (created by
// net/http/httptest.(*Server).goServe) stays blocked forever waiting for
// connections. It makes no request, so that is the only goroutine it leaks.
//
// TestServerClosed starts a server, makes a real request to it over
// localhost with srv.Client(), closes the client's idle connections and
// closes the server: every server and client goroutine is gone shortly after
// the test returns, so it is clean.
package httpserver

import (
	"fmt"
	"net/http"
)

// hello is the handler under test.
func hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello, %s", r.URL.Query().Get("name"))
}
