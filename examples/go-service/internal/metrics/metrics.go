// Package metrics counts requests per route and renders them in a plain text format.
package metrics

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Registry holds one counter per route.
type Registry struct {
	mu       sync.Mutex
	counters map[string]*atomic.Int64
	started  time.Time
}

// New returns an empty registry.
func New() *Registry { return &Registry{counters: map[string]*atomic.Int64{}, started: time.Now()} }

func (r *Registry) counter(route string) *atomic.Int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.counters[route]
	if !ok {
		c = new(atomic.Int64)
		r.counters[route] = c
	}
	return c
}

// Wrap counts each request that reaches h under route.
func (r *Registry) Wrap(route string, h http.Handler) http.Handler {
	c := r.counter(route)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c.Add(1)
		h.ServeHTTP(w, req)
	})
}

// WriteTo renders the counters, sorted by route.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	routes := make([]string, 0, len(r.counters))
	for k := range r.counters {
		routes = append(routes, k)
	}
	r.mu.Unlock()
	sort.Strings(routes)
	var total int64
	n, err := fmt.Fprintf(w, "uptime_seconds %d\n", int64(time.Since(r.started).Seconds()))
	total += int64(n)
	if err != nil {
		return total, err
	}
	for _, route := range routes {
		n, err := fmt.Fprintf(w, "requests_total{route=%q} %d\n", route, r.counter(route).Load())
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
