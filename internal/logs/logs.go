// Package logs keeps functions' logs: what their execution environments
// write to stdout and stderr, with the platform's START/END/REPORT lines, so
// that they can be read back per function.
//
// This first implementation keeps a bounded in-memory ring per function on
// the node that ran the invocation; older events are dropped. It never
// interprets log contents and never writes them to the server's own log.
package logs

import (
	"strings"
	"sync"
	"time"
)

// Event is one log line.
type Event struct {
	Time    time.Time
	Stream  string // the environment's log stream name
	Message string
}

// Store holds recent log events of every function.
type Store struct {
	mu       sync.Mutex
	maxBytes int
	groups   map[string]*ring
}

// NewStore keeps up to maxBytes of log messages per function.
func NewStore(maxBytes int) *Store {
	return &Store{maxBytes: maxBytes, groups: map[string]*ring{}}
}

// ring is a group's events, oldest first: events[start:] are live. Dropping
// old events advances start; the slice is compacted only when more than
// half of it is dead, so an append costs amortized O(1) even when every
// append drops.
type ring struct {
	events []Event
	start  int
	bytes  int
}

// live is the group's events, oldest first.
func (r *ring) live() []Event { return r.events[r.start:] }

// Group is a function's log group name, as Lambda names it.
func Group(function string) string { return "/aws/lambda/" + function }

func groupKey(account, group string) string { return account + "\x00" + group }

// Append adds events to a log group of an account.
func (s *Store) Append(account, group string, events ...Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.groups[groupKey(account, group)]
	if r == nil {
		r = &ring{}
		s.groups[groupKey(account, group)] = r
	}
	for _, e := range events {
		r.events = append(r.events, e)
		r.bytes += len(e.Message)
	}
	for r.bytes > s.maxBytes && r.start < len(r.events) {
		r.bytes -= len(r.events[r.start].Message)
		r.events[r.start] = Event{} // let the message be collected
		r.start++
	}
	if r.start > 0 && r.start >= len(r.events)/2 {
		n := copy(r.events, r.events[r.start:])
		clear(r.events[n:])
		r.events, r.start = r.events[:n], 0
	}
}

// Read returns up to limit of the newest events of a log group, oldest
// first, optionally only those containing filter.
func (s *Store) Read(account, group, filter string, limit int) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.groups[groupKey(account, group)]
	if r == nil {
		return nil
	}
	var out []Event
	events := r.live()
	for i := len(events) - 1; i >= 0 && len(out) < limit; i-- {
		if filter == "" || strings.Contains(events[i].Message, filter) {
			out = append(out, events[i])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Delete forgets a log group.
func (s *Store) Delete(account, group string) {
	s.mu.Lock()
	delete(s.groups, groupKey(account, group))
	s.mu.Unlock()
}
