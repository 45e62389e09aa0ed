// Package store keeps notes in memory, addressed by the SHA-256 of their content.
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sort"
	"sync"
	"time"
)

// Note is one stored text.
type Note struct {
	ID      string    `json:"id"`
	Text    string    `json:"text"`
	Created time.Time `json:"created"`
}

// ErrNotFound is returned for an unknown id.
var ErrNotFound = errors.New("note not found")

// Store is safe for concurrent use.
type Store struct {
	mu    sync.RWMutex
	notes map[string]Note
}

// New returns an empty store.
func New() *Store { return &Store{notes: map[string]Note{}} }

// Put stores text and returns its note; storing the same text twice returns the first note.
func (s *Store) Put(text string) Note {
	sum := sha256.Sum256([]byte(text))
	id := hex.EncodeToString(sum[:8])
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.notes[id]; ok {
		return n
	}
	n := Note{ID: id, Text: text, Created: time.Now().UTC()}
	s.notes[id] = n
	return n
}

// Get returns the note with id.
func (s *Store) Get(id string) (Note, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.notes[id]
	if !ok {
		return Note{}, ErrNotFound
	}
	return n, nil
}

// List returns all notes, oldest first.
func (s *Store) List() []Note {
	s.mu.RLock()
	out := make([]Note, 0, len(s.notes))
	for _, n := range s.notes {
		out = append(out, n)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}
