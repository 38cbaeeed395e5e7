package iam

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/store"
)

// Access key statuses.
const (
	StatusActive   = "Active"
	StatusInactive = "Inactive"
)

// Key is an access key and whom it authenticates.
type Key struct {
	AccessKeyID string    `json:"accessKeyId"`
	Secret      Secret    `json:"secret"`
	Status      string    `json:"status"` // Active, Inactive
	Principal   Principal `json:"principal"`
	CreateDate  time.Time `json:"createDate,omitzero"`
	// TokenHash is the SHA-256 of the session token of temporary
	// credentials (nil for long-term keys), and Expiration their end.
	TokenHash  []byte    `json:"tokenHash,omitempty"`
	Expiration time.Time `json:"expiration,omitzero"`
}

// VerifySessionToken checks the X-Amz-Security-Token a request signed with
// this key carried ("" when none): temporary credentials need their own
// token, long-term keys none. It returns ErrInvalidToken or ErrExpiredToken.
func (k Key) VerifySessionToken(token string, now time.Time) error {
	if len(k.TokenHash) == 0 {
		if token != "" {
			return ErrInvalidToken
		}
		return nil
	}
	if token == "" {
		return ErrInvalidToken
	}
	h := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(h[:], k.TokenHash) != 1 {
		return ErrInvalidToken
	}
	if !now.Before(k.Expiration) {
		return ErrExpiredToken
	}
	return nil
}

// applyKey records the state of an access key at a revision (nil Value:
// deleted). Older revisions than the one last applied are ignored, so a
// late watch update cannot bring back a deleted or deactivated key.
func (s *Service) applyKey(e store.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev, ok := s.keyRevs[e.Key]; ok && rev >= e.Revision {
		return
	}
	s.keyRevs[e.Key] = e.Revision
	if e.Value == nil {
		delete(s.cache, e.Key)
		return
	}
	var k Key
	if err := json.Unmarshal(e.Value, &k); err != nil {
		s.log.Error("decode access key record", "key_id", e.Key, "err", err)
		return
	}
	s.cache[e.Key] = k
}

// LookupKey returns the access key (long-term or temporary) with this id
// and the principal it authenticates, as it is now: a user's current name
// and path, a session's role. Temporary credentials come back even when
// expired, with Expiration set, so that the caller can tell an expired
// token from an invalid one (VerifySessionToken).
func (s *Service) LookupKey(ctx context.Context, id string) (Key, error) {
	if len(id) > 4 && id[:4] == "ASIA" {
		k, err := s.lookupSession(ctx, id)
		if err == nil || !errors.Is(err, ErrUnknownKey) {
			return k, err
		}
		// An operator may have chosen an ASIA... root key: look on.
	}
	s.mu.RLock()
	k, ok := s.cache[id]
	s.mu.RUnlock()
	if !ok {
		if !accessKeyIDRe.MatchString(id) {
			return Key{}, ErrUnknownKey
		}
		// The watcher may lag a key created a moment ago on another node.
		if _, err := s.keys.GetJSON(ctx, id, &k); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return Key{}, ErrUnknownKey
			}
			return Key{}, fmt.Errorf("iam: lookup key: %w", err)
		}
	}
	if k.Status != StatusActive {
		return Key{}, ErrInactiveKey
	}
	if k.Principal.Type == TypeUser {
		p, ok := s.currentUser(k.Principal)
		if !ok {
			return Key{}, ErrUnknownKey
		}
		k.Principal = p
	}
	k.Principal.AccessKeyID = k.AccessKeyID
	return k, nil
}

// currentUser refreshes a user principal's name and ARN from the user as
// it is now; false if the user no longer exists.
func (s *Service) currentUser(p Principal) (Principal, bool) {
	u := s.idx.userByID(p.Account, p.UserID)
	if u == nil {
		return Principal{}, false
	}
	p.ARN, p.Name = u.ARN(), u.Name
	return p, true
}

// PutKey stores an access key (creating it; an existing id is an error).
func (s *Service) PutKey(ctx context.Context, k Key) error {
	rev, err := s.keys.CreateJSON(ctx, k.AccessKeyID, k)
	if err != nil {
		return fmt.Errorf("iam: put key: %w", err)
	}
	s.applyKey(store.Entry{Key: k.AccessKeyID, Value: marshal(k), Revision: rev})
	return nil
}

// AccessKey describes an access key without its secret.
type AccessKey struct {
	UserName    string
	AccessKeyID string
	Status      string
	CreateDate  time.Time
}

// MaxAccessKeys is how many access keys a user (or root user) may have.
const MaxAccessKeys = 2

// CreateAccessKey creates an access key for the user userName of account,
// or for the account's root user when userName is "". It returns the key
// with its secret, which is never shown again.
func (s *Service) CreateAccessKey(ctx context.Context, account, userName string) (Key, error) {
	id, secret := NewKeyPair(false)
	now := s.now().UTC().Truncate(time.Second)
	if userName == "" {
		if len(s.rootKeys(account)) >= MaxAccessKeys {
			return Key{}, awserr.New(awserr.LimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", MaxAccessKeys)
		}
		k := Key{AccessKeyID: id, Secret: secret, Status: StatusActive, Principal: Root(account), CreateDate: now}
		if err := s.PutKey(ctx, k); err != nil {
			return Key{}, err
		}
		return k, nil
	}
	// Reserve the key on the user first, so that the quota holds under
	// concurrent requests; undo the reservation if the key cannot be stored.
	u, err := mutateUser(ctx, s, account, userName, func(u *User) error {
		if len(u.Keys) >= MaxAccessKeys {
			return awserr.New(awserr.LimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", MaxAccessKeys)
		}
		u.Keys = append(u.Keys, id)
		return nil
	})
	if err != nil {
		return Key{}, err
	}
	p := Principal{Account: account, ARN: u.ARN(), UserID: u.ID, Type: TypeUser, Name: u.Name}
	k := Key{AccessKeyID: id, Secret: secret, Status: StatusActive, Principal: p, CreateDate: now}
	if err := s.PutKey(ctx, k); err != nil {
		_, _ = mutateUser(context.WithoutCancel(ctx), s, account, userName, func(u *User) error {
			u.Keys = slices.DeleteFunc(u.Keys, func(x string) bool { return x == id })
			return nil
		})
		return Key{}, err
	}
	return k, nil
}

// rootKeys lists the root user's keys of account.
func (s *Service) rootKeys(account string) []Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Key
	for _, k := range s.cache {
		if k.Principal.Type == TypeRoot && k.Principal.Account == account {
			out = append(out, k)
		}
	}
	sortBy(out, func(k Key) string { return k.AccessKeyID })
	return out
}

// ListAccessKeys lists the access keys of a user (or the root user when
// userName is "").
func (s *Service) ListAccessKeys(ctx context.Context, account, userName string) ([]AccessKey, error) {
	var keys []Key
	if userName == "" {
		keys = s.rootKeys(account)
	} else {
		u, err := s.GetUser(ctx, account, userName)
		if err != nil {
			return nil, err
		}
		for _, id := range u.Keys {
			var k Key
			if _, err := s.keys.GetJSON(ctx, id, &k); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					continue // being created or deleted
				}
				return nil, fmt.Errorf("iam: list access keys: %w", err)
			}
			keys = append(keys, k)
		}
	}
	out := make([]AccessKey, len(keys))
	for i, k := range keys {
		out[i] = AccessKey{UserName: userName, AccessKeyID: k.AccessKeyID, Status: k.Status, CreateDate: k.CreateDate}
		if userName != "" {
			out[i].UserName = k.Principal.Name
		}
	}
	return out, nil
}

// ownedKey reads an access key and checks that it belongs to the user (or
// root user when userName is "").
func (s *Service) ownedKey(ctx context.Context, account, userName, id string) (Key, uint64, error) {
	notFound := awserr.New(awserr.NoSuchEntity, "The Access Key with id %s cannot be found", id)
	if !accessKeyIDRe.MatchString(id) {
		return Key{}, 0, notFound
	}
	var k Key
	rev, err := s.keys.GetJSON(ctx, id, &k)
	if errors.Is(err, store.ErrNotFound) {
		return Key{}, 0, notFound
	}
	if err != nil {
		return Key{}, 0, fmt.Errorf("iam: access key: %w", err)
	}
	if k.Principal.Account != account {
		return Key{}, 0, notFound
	}
	if userName == "" {
		if k.Principal.Type != TypeRoot {
			return Key{}, 0, notFound
		}
		return k, rev, nil
	}
	u := s.idx.user(account, userName)
	if u == nil {
		return Key{}, 0, noSuchUser(userName)
	}
	if k.Principal.Type != TypeUser || k.Principal.UserID != u.ID {
		return Key{}, 0, notFound
	}
	return k, rev, nil
}

// UpdateAccessKey sets a key's status (Active or Inactive).
func (s *Service) UpdateAccessKey(ctx context.Context, account, userName, id, status string) error {
	if status != StatusActive && status != StatusInactive {
		return validation(constraint(status, "status", "Member must satisfy enum value set: [Active, Inactive]"))
	}
	for range maxAttempts {
		k, rev, err := s.ownedKey(ctx, account, userName, id)
		if err != nil {
			return err
		}
		k.Status = status
		data := marshal(k)
		nrev, err := s.keys.Update(ctx, id, data, rev)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("iam: update access key: %w", err)
		}
		s.applyKey(store.Entry{Key: id, Value: data, Revision: nrev})
		return nil
	}
	return concurrentModification()
}

// DeleteAccessKey deletes a user's (or the root user's) access key.
func (s *Service) DeleteAccessKey(ctx context.Context, account, userName, id string) error {
	_, rev, err := s.ownedKey(ctx, account, userName, id)
	if err != nil {
		return err
	}
	if err := s.keys.Delete(ctx, id, rev); err != nil {
		return fmt.Errorf("iam: delete access key: %w", err)
	}
	s.applyKey(store.Entry{Key: id, Revision: rev + 1})
	if userName != "" {
		_, err := mutateUser(ctx, s, account, userName, func(u *User) error {
			u.Keys = slices.DeleteFunc(u.Keys, func(x string) bool { return x == id })
			return nil
		})
		if err != nil && !awserr.IsType(err, awserr.NoSuchEntity) {
			return err
		}
	}
	return nil
}
