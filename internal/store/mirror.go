package store

import (
	"context"
	"sync"
)

// Mirror is an in-memory copy of a bucket, kept current by watching it. Hot
// paths read from a Mirror instead of the store; writers may also Note their
// own writes so that they read them back at once, before the watch delivers.
type Mirror struct {
	mu      sync.RWMutex
	entries map[string]Entry
	// tomb remembers the revision at which keys were deleted, so that a
	// late watch update cannot resurrect them.
	tomb map[string]uint64
	done chan struct{}
}

// Mirror starts mirroring the bucket until ctx ends. It returns once the
// current contents are loaded.
func (b *Bucket) Mirror(ctx context.Context) (*Mirror, error) {
	updates, err := b.Watch(ctx, "")
	if err != nil {
		return nil, err
	}
	m := &Mirror{entries: map[string]Entry{}, tomb: map[string]uint64{}, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(m.done)
		initial := true
		for e := range updates {
			if e.Key == "" {
				if initial {
					initial = false
					close(ready)
				}
				continue
			}
			m.apply(e)
		}
		if initial {
			close(ready)
		}
	}()
	select {
	case <-ready:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Done is closed when the mirror stops (its context ended).
func (m *Mirror) Done() <-chan struct{} { return m.done }

func (m *Mirror) apply(e Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.entries[e.Key]; ok && cur.Revision >= e.Revision {
		return
	}
	if rev, ok := m.tomb[e.Key]; ok && rev >= e.Revision {
		return
	}
	if e.Value == nil {
		delete(m.entries, e.Key)
		m.tomb[e.Key] = e.Revision
		return
	}
	delete(m.tomb, e.Key)
	m.entries[e.Key] = e
}

// Get returns the mirrored entry for key.
func (m *Mirror) Get(key string) (Entry, bool) {
	m.mu.RLock()
	e, ok := m.entries[key]
	m.mu.RUnlock()
	return e, ok
}

// Note records a write this process made (value nil for a delete at
// revision rev), unless the mirror already holds something newer.
func (m *Mirror) Note(key string, value []byte, rev uint64) {
	m.apply(Entry{Key: key, Value: value, Revision: rev})
}

// Len is the number of mirrored keys.
func (m *Mirror) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.entries)
}

// Keys returns the mirrored keys that start with prefix, in no order.
func (m *Mirror) Keys(prefix string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []string
	for k := range m.entries {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			out = append(out, k)
		}
	}
	return out
}
