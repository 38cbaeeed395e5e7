package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is a key-value bucket. Keys are tokens of [-/_=.a-zA-Z0-9]
// separated by dots; values are opaque bytes.
type Bucket struct {
	name string
	kv   jetstream.KeyValue
}

// Entry is one key's current value and revision.
type Entry struct {
	Key      string
	Value    []byte
	Revision uint64
}

// Bucket opens the named bucket, creating it on first use.
func (s *Store) Bucket(ctx context.Context, name string) (*Bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.buckets[name]; ok {
		return b, nil
	}
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   name,
		History:  1,
		Storage:  jetstream.FileStorage,
		Replicas: s.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("store: bucket %s: %w", name, err)
	}
	b := &Bucket{name: name, kv: kv}
	s.buckets[name] = b
	return b, nil
}

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.name }

// Get returns the current value of key, or ErrNotFound.
func (b *Bucket) Get(ctx context.Context, key string) (Entry, error) {
	e, err := b.kv.Get(ctx, key)
	if err != nil {
		return Entry{}, b.wrap("get", key, err)
	}
	return Entry{Key: key, Value: e.Value(), Revision: e.Revision()}, nil
}

// Create stores value under key only if key does not exist (ErrExists).
func (b *Bucket) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	rev, err := b.kv.Create(ctx, key, value)
	if err != nil {
		return 0, b.wrap("create", key, err)
	}
	return rev, nil
}

// Update replaces key's value only if its revision is still rev
// (ErrConflict otherwise).
func (b *Bucket) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	nrev, err := b.kv.Update(ctx, key, value, rev)
	if err != nil {
		return 0, b.wrap("update", key, err)
	}
	return nrev, nil
}

// Put stores value under key unconditionally.
func (b *Bucket) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	rev, err := b.kv.Put(ctx, key, value)
	if err != nil {
		return 0, b.wrap("put", key, err)
	}
	return rev, nil
}

// Delete removes key and its history. With rev > 0 it deletes only if the
// key is still at that revision (ErrConflict otherwise). Deleting a missing
// key is not an error.
func (b *Bucket) Delete(ctx context.Context, key string, rev uint64) error {
	var opts []jetstream.KVDeleteOpt
	if rev > 0 {
		opts = append(opts, jetstream.LastRevision(rev))
	}
	if err := b.kv.Purge(ctx, key, opts...); err != nil {
		return b.wrap("delete", key, err)
	}
	return nil
}

// Keys lists the keys matching filter (a NATS subject pattern such as
// "123456789012.>"; "" means all keys), in no particular order.
func (b *Bucket) Keys(ctx context.Context, filter string) ([]string, error) {
	if filter == "" {
		filter = ">"
	}
	l, err := b.kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("store: %s: list keys: %w", b.name, err)
	}
	defer l.Stop()
	seen := map[string]bool{}
	var keys []string
	for k := range l.Keys() {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// Watch streams changes to keys matching filter, starting with their current
// values. Deleted keys arrive with a nil Value. The channel closes when ctx
// ends. A zero Entry marks the end of the initial values.
func (b *Bucket) Watch(ctx context.Context, filter string) (<-chan Entry, error) {
	if filter == "" {
		filter = ">"
	}
	w, err := b.kv.Watch(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("store: %s: watch: %w", b.name, err)
	}
	out := make(chan Entry, 64)
	go func() {
		defer close(out)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-w.Updates():
				if !ok {
					return
				}
				var e Entry
				if u != nil {
					e = Entry{Key: u.Key(), Revision: u.Revision()}
					if u.Operation() == jetstream.KeyValuePut {
						e.Value = u.Value()
					}
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// GetJSON decodes key's value into v and returns its revision.
func (b *Bucket) GetJSON(ctx context.Context, key string, v any) (uint64, error) {
	e, err := b.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return 0, fmt.Errorf("store: %s: decode %s: %w", b.name, key, err)
	}
	return e.Revision, nil
}

// CreateJSON encodes v and creates key with it.
func (b *Bucket) CreateJSON(ctx context.Context, key string, v any) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("store: %s: encode %s: %w", b.name, key, err)
	}
	return b.Create(ctx, key, data)
}

// UpdateJSON encodes v and replaces key with it if key is still at rev.
func (b *Bucket) UpdateJSON(ctx context.Context, key string, v any, rev uint64) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("store: %s: encode %s: %w", b.name, key, err)
	}
	return b.Update(ctx, key, data, rev)
}

// PutJSON encodes v and stores it under key unconditionally.
func (b *Bucket) PutJSON(ctx context.Context, key string, v any) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("store: %s: encode %s: %w", b.name, key, err)
	}
	return b.Put(ctx, key, data)
}

func (b *Bucket) wrap(op, key string, err error) error {
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		err = ErrNotFound
	case errors.Is(err, jetstream.ErrKeyExists) && op == "create":
		err = ErrExists
	case errors.Is(err, jetstream.ErrKeyExists), isWrongLastSequence(err):
		err = ErrConflict
	}
	return fmt.Errorf("store: %s %s/%s: %w", op, b.name, key, err)
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}
