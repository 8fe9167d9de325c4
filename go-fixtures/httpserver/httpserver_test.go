package httpserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestServerNeverClosed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello)) // want-leak: TestServerNeverClosed via=net/http/httptest.(*Server).goServe
	if srv.URL == "" {
		t.Fatal("server has no URL")
	}
	// srv.Close is never called.
}

func TestServerClosed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()

	resp, err := client.Get(srv.URL + "/?name=gopher")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "hello, gopher" {
		t.Fatalf("body = %q", body)
	}
}
