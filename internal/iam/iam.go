package iam

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/cloister/cloister/internal/store"
)

// Sentinel errors.
var (
	ErrUnknownKey   = errors.New("iam: unknown access key")
	ErrInactiveKey  = errors.New("iam: inactive access key")
	ErrNoAccount    = errors.New("iam: no such account")
	ErrInvalidToken = errors.New("iam: invalid session token")
	ErrExpiredToken = errors.New("iam: expired session token")
)

// Secret is a secret string that never appears in logs or fmt output.
type Secret string

// LogValue redacts the secret in slog output.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// String redacts the secret in fmt output.
func (Secret) String() string { return "REDACTED" }

// Reveal returns the secret's value, for signing and verification only.
func (s Secret) Reveal() string { return string(s) }

// Account is a tenant.
type Account struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Email      string    `json:"email,omitempty"`
	CreateDate time.Time `json:"createDate,omitzero"`
}

const (
	accountsBucket = "iam_accounts"
	keysBucket     = "iam_access_keys"
	sessionsBucket = "iam_sessions"
	entitiesBucket = "iam_entities"
	metaBucket     = "cloister_meta"
)

// Option configures a Service.
type Option func(*Service)

// WithDefaultAccountID makes the default account, when the server creates
// it on first start, take this 12-digit id instead of a random one.
func WithDefaultAccountID(id string) Option { return func(s *Service) { s.defaultAccountID = id } }

// WithClock sets the clock used for session expiry, aws:CurrentTime and
// creation dates (tests); time.Now by default.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// Service is the identity store: accounts, users, groups, roles, managed
// policies, access keys, sessions and organization guardrails. It keeps an
// in-memory copy of all of them, current by watching the store, because
// key lookup and authorization are on every request's path.
type Service struct {
	defaultAccountID string
	accounts         *store.Bucket
	keys             *store.Bucket
	sessions         *store.Bucket
	entities         *store.Bucket
	meta             *store.Bucket
	log              *slog.Logger
	now              func() time.Time

	mu      sync.RWMutex
	cache   map[string]Key // access keys by ID (users and roots)
	keyRevs map[string]uint64

	sessMu   sync.RWMutex
	sessTomb map[string]uint64
	sessByID map[string]*sessionEntry

	idx   *index
	authz authzCache

	mgmtOnce sync.Mutex
	mgmt     string // the management (default) account, once known
	orgID    string // the organization's ID, once known

	stop context.CancelFunc // ends the watchers
	wg   sync.WaitGroup
}

// Open opens the identity buckets and starts watching them until ctx ends
// or Close is called.
func Open(ctx context.Context, st *store.Store, log *slog.Logger, opts ...Option) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	s, err := open(ctx, st, log, opts)
	if err != nil {
		cancel()
		if s != nil {
			s.wg.Wait()
		}
		return nil, err
	}
	s.stop = cancel
	return s, nil
}

func open(ctx context.Context, st *store.Store, log *slog.Logger, opts []Option) (*Service, error) {
	s := &Service{
		log: log.With("component", "iam"), now: time.Now,
		cache: map[string]Key{}, keyRevs: map[string]uint64{}, sessTomb: map[string]uint64{}, sessByID: map[string]*sessionEntry{},
	}
	for _, o := range opts {
		o(s)
	}
	s.idx = newIndex(s.log)
	s.authz.init()
	for _, b := range []struct {
		p    **store.Bucket
		name string
	}{{&s.accounts, accountsBucket}, {&s.keys, keysBucket}, {&s.sessions, sessionsBucket}, {&s.entities, entitiesBucket}, {&s.meta, metaBucket}} {
		var err error
		if *b.p, err = st.Bucket(ctx, b.name); err != nil {
			return nil, fmt.Errorf("iam: open: %w", err)
		}
	}
	for _, w := range []struct {
		b     *store.Bucket
		apply func(store.Entry)
	}{{s.keys, s.applyKey}, {s.sessions, s.applySession}, {s.entities, s.idx.apply}} {
		if err := s.watch(ctx, w.b, w.apply); err != nil {
			return s, err
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.janitor(ctx)
	}()
	return s, nil
}

// watch applies the bucket's current contents, returns, and keeps applying
// changes until ctx ends.
func (s *Service) watch(ctx context.Context, b *store.Bucket, apply func(store.Entry)) error {
	updates, err := b.Watch(ctx, "")
	if err != nil {
		return fmt.Errorf("iam: watch %s: %w", b.Name(), err)
	}
	ready := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		initial := true
		for e := range updates {
			if e.Key == "" {
				if initial {
					initial = false
					close(ready)
				}
				continue
			}
			apply(e)
		}
		if initial {
			close(ready)
		}
	}()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the watchers and waits for them. The service must not be
// used afterwards.
func (s *Service) Close() {
	s.stop()
	s.wg.Wait()
}

// Account returns an account by id.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	var a Account
	if !isAccountID(id) {
		return Account{}, ErrNoAccount
	}
	if _, err := s.accounts.GetJSON(ctx, id, &a); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Account{}, ErrNoAccount
		}
		return Account{}, fmt.Errorf("iam: account %s: %w", id, err)
	}
	return a, nil
}

// Accounts lists every account, ordered by ID.
func (s *Service) Accounts(ctx context.Context) ([]Account, error) {
	ids, err := s.accounts.Keys(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("iam: list accounts: %w", err)
	}
	out := make([]Account, 0, len(ids))
	for _, id := range ids {
		a, err := s.Account(ctx, id)
		if errors.Is(err, ErrNoAccount) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	sortBy(out, func(a Account) string { return a.ID })
	return out, nil
}

// CreateAccount creates an account with a fresh id.
func (s *Service) CreateAccount(ctx context.Context, name string) (Account, error) {
	return s.createAccount(ctx, Account{Name: name})
}

func (s *Service) createAccount(ctx context.Context, a Account) (Account, error) {
	a.CreateDate = s.now().UTC().Truncate(time.Second)
	if a.ID != "" {
		if !accountIDRe.MatchString(a.ID) {
			return Account{}, fmt.Errorf("iam: account id %q is not 12 digits", a.ID)
		}
		if _, err := s.accounts.CreateJSON(ctx, a.ID, a); err != nil {
			return Account{}, fmt.Errorf("iam: create account %s: %w", a.ID, err)
		}
		return a, nil
	}
	for range 10 {
		a.ID = NewAccountID()
		_, err := s.accounts.CreateJSON(ctx, a.ID, a)
		if err == nil {
			return a, nil
		}
		if !errors.Is(err, store.ErrExists) {
			return Account{}, fmt.Errorf("iam: create account: %w", err)
		}
	}
	return Account{}, errors.New("iam: could not allocate an account id")
}

// DefaultAccount returns the server's default account, creating it (and
// recording it in the store) on first start. The default account is the
// organization's management account: its principals administer accounts
// and guardrails.
func (s *Service) DefaultAccount(ctx context.Context) (Account, bool, error) {
	e, err := s.meta.Get(ctx, "default-account")
	if err == nil {
		a, err := s.Account(ctx, string(e.Value))
		return a, false, err
	}
	if !errors.Is(err, store.ErrNotFound) {
		return Account{}, false, fmt.Errorf("iam: default account: %w", err)
	}
	a, err := s.createAccount(ctx, Account{ID: s.defaultAccountID, Name: "default"})
	if err != nil {
		return Account{}, false, err
	}
	if _, err := s.meta.Create(ctx, "default-account", []byte(a.ID)); err != nil {
		if errors.Is(err, store.ErrExists) {
			// Another server won the race; use its account.
			return s.DefaultAccount(ctx)
		}
		return Account{}, false, fmt.Errorf("iam: record default account: %w", err)
	}
	return a, true, nil
}

// managementAccount returns the default account's ID ("" if none exists
// yet), remembering it once known.
func (s *Service) managementAccount(ctx context.Context) (string, error) {
	s.mgmtOnce.Lock()
	defer s.mgmtOnce.Unlock()
	if s.mgmt != "" {
		return s.mgmt, nil
	}
	e, err := s.meta.Get(ctx, "default-account")
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("iam: default account: %w", err)
	}
	s.mgmt = string(e.Value)
	return s.mgmt, nil
}

// Meta returns the server-wide metadata bucket (shared secrets and ids).
func (s *Service) Meta() *store.Bucket { return s.meta }

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// randomString returns n characters drawn uniformly from alphabet (whose
// length must divide 256) with crypto/rand.
func randomString(alphabet string, n int) string {
	if 256%len(alphabet) != 0 {
		panic("iam: alphabet length must divide 256")
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randomDigits returns n decimal digits, uniformly, the first not zero
// when nonZero is set.
func randomDigits(n int, nonZero bool) string {
	b := make([]byte, 0, n)
	var buf [1]byte
	for len(b) < n {
		if _, err := rand.Read(buf[:]); err != nil {
			panic(err)
		}
		if buf[0] >= 250 { // reject to keep the digits uniform
			continue
		}
		d := buf[0] % 10
		if nonZero && len(b) == 0 && d == 0 {
			continue
		}
		b = append(b, '0'+d)
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

// newUniqueID generates an IAM unique ID such as "AIDA..." (users), "AROA..."
// (roles), "AGPA..." (groups) or "ANPA..." (policies).
func newUniqueID(prefix string) string { return prefix + randomString(keyAlphabet, 17) }

// NewAccountID generates a 12-digit account id.
func NewAccountID() string { return randomDigits(12, true) }

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("iam: encode %T: %v", v, err)) // plain data types always encode
	}
	return b
}

var accountIDRe = regexp.MustCompile(`^\d{12}$`)
