package iam

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"

	"github.com/cloister/cloister/internal/store"
)

// Sentinel errors.
var (
	ErrUnknownKey  = errors.New("iam: unknown access key")
	ErrInactiveKey = errors.New("iam: inactive access key")
	ErrNoAccount   = errors.New("iam: no such account")
)

// Secret is a secret string that never appears in logs or fmt output.
type Secret string

// LogValue redacts the secret in slog output.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// String redacts the secret in fmt output.
func (Secret) String() string { return "REDACTED" }

// Reveal returns the secret's value, for signing and verification only.
func (s Secret) Reveal() string { return string(s) }

// Principal is an authenticated caller.
type Principal struct {
	Account     string `json:"account"`
	ARN         string `json:"arn"`
	UserID      string `json:"userId"`
	Type        string `json:"type"` // "Root", "User", "AssumedRole"
	Name        string `json:"name,omitempty"`
	AccessKeyID string `json:"-"`
}

// Root is the account root principal of account.
func Root(account string) Principal {
	return Principal{Account: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account, Type: "Root"}
}

// Key is an access key and whom it authenticates.
type Key struct {
	AccessKeyID string    `json:"accessKeyId"`
	Secret      Secret    `json:"secret"`
	Status      string    `json:"status"` // Active, Inactive
	Principal   Principal `json:"principal"`
}

// Account is a tenant.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

const (
	accountsBucket = "iam_accounts"
	keysBucket     = "iam_access_keys"
	metaBucket     = "cloister_meta"
)

// Service is the identity store, with an in-memory copy of access keys kept
// current by watching the store (the key lookup is on every request).
type Service struct {
	accounts *store.Bucket
	keys     *store.Bucket
	meta     *store.Bucket
	log      *slog.Logger

	mu    sync.RWMutex
	cache map[string]Key
	ready chan struct{}
	wg    sync.WaitGroup
}

// Open opens the identity buckets and starts watching access keys until ctx
// ends; Close waits for the watcher.
func Open(ctx context.Context, st *store.Store, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{log: log.With("component", "iam"), cache: map[string]Key{}, ready: make(chan struct{})}
	var err error
	if s.accounts, err = st.Bucket(ctx, accountsBucket); err != nil {
		return nil, err
	}
	if s.keys, err = st.Bucket(ctx, keysBucket); err != nil {
		return nil, err
	}
	if s.meta, err = st.Bucket(ctx, metaBucket); err != nil {
		return nil, err
	}
	updates, err := s.keys.Watch(ctx, "")
	if err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.watchKeys(updates)
	}()
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s, nil
}

// Close waits for the key watcher, which stops when Open's ctx ends.
func (s *Service) Close() { s.wg.Wait() }

func (s *Service) watchKeys(updates <-chan store.Entry) {
	initial := true
	for e := range updates {
		if e.Key == "" {
			if initial {
				initial = false
				close(s.ready)
			}
			continue
		}
		s.mu.Lock()
		if e.Value == nil {
			delete(s.cache, e.Key)
		} else {
			var k Key
			if err := json.Unmarshal(e.Value, &k); err != nil {
				s.log.Error("decode access key record", "key_id", e.Key, "err", err)
			} else {
				s.cache[e.Key] = k
			}
		}
		s.mu.Unlock()
	}
	if initial {
		close(s.ready)
	}
}

// LookupKey returns the access key with this id.
func (s *Service) LookupKey(ctx context.Context, id string) (Key, error) {
	s.mu.RLock()
	k, ok := s.cache[id]
	s.mu.RUnlock()
	if !ok {
		// The watcher may lag a key created a moment ago on another node.
		if _, err := s.keys.GetJSON(ctx, id, &k); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return Key{}, ErrUnknownKey
			}
			return Key{}, fmt.Errorf("iam: lookup key: %w", err)
		}
	}
	if k.Status != "Active" {
		return Key{}, ErrInactiveKey
	}
	k.Principal.AccessKeyID = k.AccessKeyID
	return k, nil
}

// PutKey stores an access key (creating it; an existing id is an error).
func (s *Service) PutKey(ctx context.Context, k Key) error {
	if _, err := s.keys.CreateJSON(ctx, k.AccessKeyID, k); err != nil {
		return fmt.Errorf("iam: put key: %w", err)
	}
	s.mu.Lock()
	s.cache[k.AccessKeyID] = k
	s.mu.Unlock()
	return nil
}

// Account returns an account by id.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	var a Account
	if _, err := s.accounts.GetJSON(ctx, id, &a); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Account{}, ErrNoAccount
		}
		return Account{}, err
	}
	return a, nil
}

// CreateAccount creates an account with a fresh id.
func (s *Service) CreateAccount(ctx context.Context, name string) (Account, error) {
	for range 10 {
		a := Account{ID: NewAccountID(), Name: name}
		_, err := s.accounts.CreateJSON(ctx, a.ID, a)
		if err == nil {
			return a, nil
		}
		if !errors.Is(err, store.ErrExists) {
			return Account{}, err
		}
	}
	return Account{}, errors.New("iam: could not allocate an account id")
}

// DefaultAccount returns the server's default account, creating it (and
// recording it in the store) on first start.
func (s *Service) DefaultAccount(ctx context.Context) (Account, bool, error) {
	e, err := s.meta.Get(ctx, "default-account")
	if err == nil {
		a, err := s.Account(ctx, string(e.Value))
		return a, false, err
	}
	if !errors.Is(err, store.ErrNotFound) {
		return Account{}, false, err
	}
	a, err := s.CreateAccount(ctx, "default")
	if err != nil {
		return Account{}, false, err
	}
	if _, err := s.meta.Create(ctx, "default-account", []byte(a.ID)); err != nil {
		if errors.Is(err, store.ErrExists) {
			// Another server won the race; use its account.
			return s.DefaultAccount(ctx)
		}
		return Account{}, false, err
	}
	return a, true, nil
}

// Meta returns the server-wide metadata bucket (shared secrets and ids).
func (s *Service) Meta() *store.Bucket { return s.meta }

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		x, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[x.Int64()]
	}
	return string(b)
}

// NewKeyPair generates an access key id ("AKIA..." or "ASIA..." for
// temporary keys) and a secret.
func NewKeyPair(temporary bool) (string, Secret) {
	prefix := "AKIA"
	if temporary {
		prefix = "ASIA"
	}
	return prefix + randomString(keyAlphabet, 16), Secret(randomString(secretAlphabet, 40))
}

// NewAccountID generates a 12-digit account id.
func NewAccountID() string {
	return randomString("123456789", 1) + randomString("0123456789", 11)
}
