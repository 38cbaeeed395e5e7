package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/store"
)

// EnsureRootKey is EnsureRootKeyPersisted for callers that keep the key
// themselves (tests, the admin API, which returns it).
func (s *Service) EnsureRootKey(ctx context.Context, account, id string, secret Secret) (Key, bool, error) {
	return s.EnsureRootKeyPersisted(ctx, account, id, secret, nil)
}

// EnsureRootKeyPersisted returns the root user's access key of account,
// creating it on first use: from id and secret when given
// (CLOISTER_ROOT_ACCESS_KEY_ID and _SECRET_ACCESS_KEY), otherwise generated.
// A generated key is handed to persist (which writes it where the operator finds it) before it becomes
// valid, so a secret is never active without having been written down.
// created reports whether this call made the key.
//
// Crash safety: the meta record says "pending:<id>" until the key is stored
// and then "<id>"; a start that finds a pending record finishes the job with
// a fresh key. A final record whose key is gone means the operator rotated
// the root key away: nothing is recreated.
func (s *Service) EnsureRootKeyPersisted(ctx context.Context, account, id string, secret Secret, persist func(Key) error) (k Key, created bool, err error) {
	metaKey := "root-key." + account
	e, err := s.meta.Get(ctx, metaKey)
	var rev uint64
	switch {
	case err == nil && !strings.HasPrefix(string(e.Value), "pending:"):
		k, err := s.LookupKey(ctx, string(e.Value))
		if errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrInactiveKey) {
			// The operator deleted or deactivated the first root key
			// (rotated it): nothing to ensure.
			return Key{}, false, nil
		}
		return k, false, err
	case err == nil:
		rev = e.Revision // an interrupted creation: start it over
	case !errors.Is(err, store.ErrNotFound):
		return Key{}, false, err
	}
	if (id == "") != (secret == "") {
		return Key{}, false, errors.New("iam: set both CLOISTER_ROOT_ACCESS_KEY_ID and CLOISTER_ROOT_SECRET_ACCESS_KEY, or neither")
	}
	generated := id == ""
	if generated {
		id, secret = NewKeyPair(false)
	} else {
		if !accessKeyIDRe.MatchString(id) {
			return Key{}, false, fmt.Errorf("iam: root access key id must be 16-128 upper-case letters and digits")
		}
		if !secretKeyRe.MatchString(secret.Reveal()) {
			return Key{}, false, fmt.Errorf("iam: root secret access key must be 16-128 characters of [A-Za-z0-9/+=]")
		}
	}
	pending := []byte("pending:" + id)
	if rev == 0 {
		rev, err = s.meta.Create(ctx, metaKey, pending)
	} else {
		rev, err = s.meta.Update(ctx, metaKey, pending, rev)
	}
	if err != nil {
		return Key{}, false, fmt.Errorf("iam: reserve root key: %w", err)
	}
	k = Key{AccessKeyID: id, Secret: secret, Status: StatusActive, Principal: Root(account), CreateDate: s.now().UTC().Truncate(time.Second)}
	if generated && persist != nil {
		if err := persist(k); err != nil {
			return Key{}, false, fmt.Errorf("iam: write root credentials: %w", err)
		}
	}
	if err := s.PutKey(ctx, k); err != nil {
		// A chosen key stored by an interrupted start is already there.
		if generated || !errors.Is(err, store.ErrExists) {
			return Key{}, false, err
		}
		if have, lerr := s.LookupKey(ctx, id); lerr != nil || have.Secret != secret || have.Principal.ARN != k.Principal.ARN {
			return Key{}, false, fmt.Errorf("iam: access key %s already exists and is not this account's root key", id)
		}
	}
	if _, err := s.meta.Update(ctx, metaKey, []byte(id), rev); err != nil {
		return Key{}, false, fmt.Errorf("iam: record root key: %w", err)
	}
	k.Principal.AccessKeyID = id
	return k, true, nil
}
