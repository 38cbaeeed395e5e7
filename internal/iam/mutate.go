package iam

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloister/cloister/internal/store"
)

// maxAttempts bounds the read-modify-write retries on revision conflicts.
const maxAttempts = 16

// load reads and decodes the record at key; notFound makes the error for
// a missing record.
func load[T any](ctx context.Context, s *Service, key string, notFound func() error) (*T, uint64, error) {
	v := new(T)
	rev, err := s.entities.GetJSON(ctx, key, v)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, notFound()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("iam: read %s: %w", key, err)
	}
	return v, rev, nil
}

// mutate applies fn to the record at key and writes the result back only
// if the record is still at the revision read (compare-and-set), retrying
// on conflicts. An error from fn aborts without writing.
func mutate[T any](ctx context.Context, s *Service, key string, notFound func() error, fn func(*T) error) (*T, error) {
	for range maxAttempts {
		v, rev, err := load[T](ctx, s, key, notFound)
		if err != nil {
			return nil, err
		}
		if err := fn(v); err != nil {
			return nil, err
		}
		data := marshal(v)
		nrev, err := s.entities.Update(ctx, key, data, rev)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("iam: write %s: %w", key, err)
		}
		s.idx.apply(store.Entry{Key: key, Value: data, Revision: nrev})
		return v, nil
	}
	return nil, concurrentModification()
}

// create stores a new record at key; exists makes the error when the key
// is taken.
func create(ctx context.Context, s *Service, key string, v any, exists func() error) error {
	_, err := createRev(ctx, s, key, v, exists)
	return err
}

// createRev is create, returning the new record's revision.
func createRev(ctx context.Context, s *Service, key string, v any, exists func() error) (uint64, error) {
	data := marshal(v)
	rev, err := s.entities.Create(ctx, key, data)
	if errors.Is(err, store.ErrExists) {
		return 0, exists()
	}
	if err != nil {
		return 0, fmt.Errorf("iam: create %s: %w", key, err)
	}
	s.idx.apply(store.Entry{Key: key, Value: data, Revision: rev})
	return rev, nil
}

// remove deletes the record at key if it is still at rev.
func remove(ctx context.Context, s *Service, key string, rev uint64) error {
	if err := s.entities.Delete(ctx, key, rev); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return concurrentModification()
		}
		return fmt.Errorf("iam: delete %s: %w", key, err)
	}
	// The deletion is a new message in the bucket's stream, after rev.
	s.idx.apply(store.Entry{Key: key, Revision: rev + 1})
	return nil
}

func mutateUser(ctx context.Context, s *Service, account, name string, fn func(*User) error) (*User, error) {
	return mutate(ctx, s, entityKey(account, kindUser, name), func() error { return noSuchUser(name) }, fn)
}

func mutateGroup(ctx context.Context, s *Service, account, name string, fn func(*Group) error) (*Group, error) {
	return mutate(ctx, s, entityKey(account, kindGroup, name), func() error { return noSuchGroup(name) }, fn)
}

func mutateRole(ctx context.Context, s *Service, account, name string, fn func(*Role) error) (*Role, error) {
	return mutate(ctx, s, entityKey(account, kindRole, name), func() error { return noSuchRole(name) }, fn)
}
