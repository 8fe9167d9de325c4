package handler

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestQuery(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/search?q=gopher", nil)
	query(rec, req)
	if got := strings.Count(rec.Body.String(), "\n"); got != 2 {
		t.Fatalf("got %d result lines, want 2", got)
	}
}

func TestQueryFixed(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/search?q=gopher", nil)
	queryFixed(rec, req)
	if got := strings.Count(rec.Body.String(), "\n"); got != 2 {
		t.Fatalf("got %d result lines, want 2", got)
	}
}
