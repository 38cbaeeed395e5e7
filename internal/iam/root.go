package iam

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloister/cloister/internal/store"
)

// EnsureRootKey returns the root user's access key of account, creating it
// on first use: from id and secret when given (CLOISTER_ROOT_ACCESS_KEY_ID
// and _SECRET_ACCESS_KEY), otherwise generated. created reports whether this
// call made the key.
func (s *Service) EnsureRootKey(ctx context.Context, account, id string, secret Secret) (k Key, created bool, err error) {
	metaKey := "root-key." + account
	e, err := s.meta.Get(ctx, metaKey)
	if err == nil {
		k, err := s.LookupKey(ctx, string(e.Value))
		if errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrInactiveKey) {
			// The operator deleted or deactivated the first root key
			// (rotated it): nothing to ensure.
			return Key{}, false, nil
		}
		return k, false, err
	}
	if !errors.Is(err, store.ErrNotFound) {
		return Key{}, false, err
	}
	if (id == "") != (secret == "") {
		return Key{}, false, errors.New("iam: set both CLOISTER_ROOT_ACCESS_KEY_ID and CLOISTER_ROOT_SECRET_ACCESS_KEY, or neither")
	}
	if id == "" {
		id, secret = NewKeyPair(false)
	} else {
		if !accessKeyIDRe.MatchString(id) {
			return Key{}, false, fmt.Errorf("iam: root access key id must be 16-128 upper-case letters and digits")
		}
		if !secretKeyRe.MatchString(secret.Reveal()) {
			return Key{}, false, fmt.Errorf("iam: root secret access key must be 16-128 characters of [A-Za-z0-9/+=]")
		}
	}
	k = Key{AccessKeyID: id, Secret: secret, Status: StatusActive, Principal: Root(account), CreateDate: s.now().UTC().Truncate(time.Second)}
	if err := s.PutKey(ctx, k); err != nil {
		return Key{}, false, err
	}
	if _, err := s.meta.Create(ctx, metaKey, []byte(id)); err != nil {
		return Key{}, false, fmt.Errorf("iam: record root key: %w", err)
	}
	k.Principal.AccessKeyID = id
	return k, true, nil
}
