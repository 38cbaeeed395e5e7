package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Objects is an object store bucket for large blobs (code packages).
type Objects struct {
	name string
	os   jetstream.ObjectStore
}

// chunkSize keeps every chunk under an external cluster's default 1 MiB
// message limit.
const chunkSize = 512 << 10

// Objects opens the named object store, creating it on first use.
func (s *Store) Objects(ctx context.Context, name string) (*Objects, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.objects[name]; ok {
		return o, nil
	}
	obs, err := s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:   name,
		Storage:  jetstream.FileStorage,
		Replicas: s.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("store: object store %s: %w", name, err)
	}
	o := &Objects{name: name, os: obs}
	s.objects[name] = o
	return o, nil
}

// Put stores the blob read from r under name, replacing any previous one.
// It returns after the whole blob is durable.
func (o *Objects) Put(ctx context.Context, name string, r io.Reader) error {
	_, err := o.os.Put(ctx, jetstream.ObjectMeta{
		Name: name,
		Opts: &jetstream.ObjectMetaOptions{ChunkSize: chunkSize},
	}, r)
	if err != nil {
		return fmt.Errorf("store: put object %s/%s: %w", o.name, name, err)
	}
	return nil
}

// Has reports whether a complete blob is stored under name.
func (o *Objects) Has(ctx context.Context, name string) (bool, error) {
	_, err := o.os.GetInfo(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: stat object %s/%s: %w", o.name, name, err)
	}
	return true, nil
}

// Get returns the whole blob stored under name, or ErrNotFound.
func (o *Objects) Get(ctx context.Context, name string) ([]byte, error) {
	data, err := o.os.GetBytes(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("store: get object %s/%s: %w", o.name, name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get object %s/%s: %w", o.name, name, err)
	}
	return data, nil
}

// Delete removes the blob stored under name. A missing blob is not an error.
func (o *Objects) Delete(ctx context.Context, name string) error {
	err := o.os.Delete(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("store: delete object %s/%s: %w", o.name, name, err)
	}
	return nil
}

// ObjectInfo describes a stored blob.
type ObjectInfo struct {
	Name    string
	Size    uint64
	ModTime time.Time
}

// List describes all stored blobs.
func (o *Objects) List(ctx context.Context) ([]ObjectInfo, error) {
	infos, err := o.os.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: list objects %s: %w", o.name, err)
	}
	out := make([]ObjectInfo, 0, len(infos))
	for _, i := range infos {
		out = append(out, ObjectInfo{Name: i.Name, Size: i.Size, ModTime: i.ModTime})
	}
	return out, nil
}
