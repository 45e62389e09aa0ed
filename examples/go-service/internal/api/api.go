// Package api serves the HTTP interface: health, version, notes (JSON) and an HTML index.
package api

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"example.com/go-service/internal/metrics"
	"example.com/go-service/internal/store"
	"example.com/go-service/internal/version"
)

var index = template.Must(template.New("index").Parse(`<!doctype html>
<title>go-service</title>
<h1>go-service {{.Version}} ({{.Platform}})</h1>
<ul>{{range .Notes}}<li>{{.Text}}</li>{{end}}</ul>
`))

// Handler returns the service's routes.
func Handler(s *store.Store, m *metrics.Registry, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", m.Wrap("healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})))
	mux.Handle("GET /version", m.Wrap("version", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"go": version.Go(), "platform": version.Platform()})
	})))
	mux.Handle("POST /notes", m.Wrap("notes_create", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Text string `json:"text"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil || body.Text == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"text\": \"...\"}"})
			return
		}
		writeJSON(w, http.StatusCreated, s.Put(body.Text))
	})))
	mux.Handle("GET /notes/{id}", m.Wrap("notes_get", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := s.Get(r.PathValue("id"))
		if errors.Is(err, store.ErrNotFound) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, n)
	})))
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		m.WriteTo(w)
	}))
	mux.Handle("GET /{$}", m.Wrap("index", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		index.Execute(w, map[string]any{"Version": version.Go(), "Platform": version.Platform(), "Notes": s.List()})
	})))
	return gzipped(logged(mux, log))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func logged(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Debug("request", "method", r.Method, "path", r.URL.Path)
		h.ServeHTTP(w, r)
	})
}

type gzipWriter struct {
	http.ResponseWriter
	zw *gzip.Writer
}

func (g gzipWriter) Write(b []byte) (int, error) { return g.zw.Write(b) }

func gzipped(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		defer zw.Close()
		h.ServeHTTP(gzipWriter{w, zw}, r)
	})
}
