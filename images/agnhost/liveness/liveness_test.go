package liveness

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHealthzTurnsUnhealthy(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := start
	h := Handler(start, 10*time.Second, func() time.Time { return clock })
	probe := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code
	}
	for _, c := range []struct {
		after time.Duration
		want  int
	}{
		{0, 200},
		{9999 * time.Millisecond, 200},
		{10 * time.Second, 500},
		{time.Hour, 500},
	} {
		clock = start.Add(c.after)
		if got := probe(); got != c.want {
			t.Errorf("after %v: /healthz = %d, want %d", c.after, got, c.want)
		}
	}
}
