package functions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/store"
)

// Store bucket names.
const (
	functionsBucket = "lambda_functions"
	versionsBucket  = "lambda_versions"
	accountsBucket  = "lambda_accounts"
	codeObjects     = "lambda_code"
)

// Config configures a Service.
type Config struct {
	Region string
	// ConcurrencyLimit is each account's ConcurrentExecutions quota.
	ConcurrencyLimit int
	Runtimes         *runtimes.Catalog
	// Prepare readies a function's code for running (the data plane unpacks
	// it into its cache). It runs in the background after a function is
	// created or its code changes; its failure marks the function Failed.
	// Optional.
	Prepare func(ctx context.Context, codeHash string, zip []byte) error
	// PrepareLayers readies the layers a function of account names (the
	// data plane merges them for /opt), on the same worker and with the same
	// consequences as Prepare, for functions that name layers. Optional.
	PrepareLayers func(ctx context.Context, account string, layers []Layer) error
	// Ready is told, best-effort, that a function's $LATEST is about to
	// become Active or finish an update (its code was prepared), on the
	// preparing worker: the data plane issues the execution role's
	// credentials then, so that the function's first invocation does not
	// wait for them. Optional.
	Ready func(ctx context.Context, latest Configuration)
	// Changed is told, after the fact, that a function's $LATEST or the whole
	// function changed or went away, so running environments can be
	// retired. Optional.
	Changed func(account, name string, deleted bool)
	// ProvisionedState reports the data plane's progress on a
	// provisioned-concurrency configuration. Optional.
	ProvisionedState ProvisionedState
	Logger           *slog.Logger
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Service is the Lambda control plane's domain logic.
type Service struct {
	cfg       Config
	st        *store.Store
	log       *slog.Logger
	functions *store.Bucket
	versions  *store.Bucket
	accounts  *store.Bucket
	code      *store.Objects
	layers    *store.Bucket // layer records (layers.go)

	// Mirrors of the function and account buckets for the invoke path,
	// with decoded records cached by revision.
	fnMirror   *store.Mirror
	acctMirror *store.Mirror
	decoded    sync.Map // function key -> *decodedRecord
	versionsC  sync.Map // version key -> *versionRecord (Active only)

	prepareQ chan string // function keys whose pending change to finish
	wg       sync.WaitGroup
	stop     context.CancelFunc
	gcKick   chan struct{}
}

// Open opens the buckets the service needs. Start must be called to run its
// background work.
func Open(ctx context.Context, st *store.Store, cfg Config) (*Service, error) {
	if cfg.Region == "" {
		return nil, errors.New("functions: region is required")
	}
	if cfg.Runtimes == nil {
		return nil, errors.New("functions: a runtime catalog is required")
	}
	if cfg.ConcurrencyLimit <= 0 {
		cfg.ConcurrencyLimit = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		st:       st,
		cfg:      cfg,
		log:      cfg.Logger.With("component", "functions"),
		prepareQ: make(chan string, 1024),
		gcKick:   make(chan struct{}, 1),
	}
	var err error
	if s.functions, err = st.Bucket(ctx, functionsBucket); err != nil {
		return nil, err
	}
	if s.versions, err = st.Bucket(ctx, versionsBucket); err != nil {
		return nil, err
	}
	if s.accounts, err = st.Bucket(ctx, accountsBucket); err != nil {
		return nil, err
	}
	if s.code, err = st.Objects(ctx, codeObjects); err != nil {
		return nil, err
	}
	if s.layers, err = st.Bucket(ctx, layersBucket); err != nil {
		return nil, err
	}
	return s, nil
}

// Start runs the background workers: finishing pending creations and
// updates (also those a crash interrupted) and collecting unreferenced code.
// They stop when ctx ends or Close is called.
func (s *Service) Start(ctx context.Context) error {
	ctx, s.stop = context.WithCancel(ctx)
	var err error
	if s.fnMirror, err = s.functions.Mirror(ctx); err != nil {
		s.stop()
		return err
	}
	if s.acctMirror, err = s.accounts.Mirror(ctx); err != nil {
		s.stop()
		return err
	}
	keys, err := s.functions.Keys(ctx, "")
	if err != nil {
		s.stop()
		return err
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.prepareLoop(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.gcLoop(ctx)
	}()
	for _, k := range keys {
		s.enqueuePrepare(k)
	}
	s.kickGC()
	return nil
}

// Close stops the background workers and waits for them.
func (s *Service) Close() {
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
}

// Region is the region the service serves.
func (s *Service) Region() string { return s.cfg.Region }

// functionRecord is everything about one function that changes together.
type functionRecord struct {
	Incarnation  string        `json:"incarnation"`
	Account      string        `json:"account"`
	Latest       Configuration `json:"latest"`
	CodeHash     string        `json:"codeHash"`
	UnzippedSize int64         `json:"unzippedSize"`
	LastVersion  int           `json:"lastVersion"`
	Versions     []int         `json:"versions,omitempty"`
	// VersionsCodeSize is the sum of the live versions' CodeSize, for the
	// account's code storage usage.
	VersionsCodeSize int64                         `json:"versionsCodeSize,omitempty"`
	Published        string                        `json:"published,omitempty"`
	Aliases          map[string]*aliasRecord       `json:"aliases,omitempty"`
	Policy           *resourcePolicy               `json:"policy,omitempty"`
	EventInvoke      map[string]*EventInvokeConfig `json:"eventInvoke,omitempty"`
	Tags             map[string]string             `json:"tags,omitempty"`
}

type aliasRecord struct {
	Alias  Alias           `json:"alias"`
	Policy *resourcePolicy `json:"policy,omitempty"`
}

type versionRecord struct {
	Incarnation  string          `json:"incarnation"`
	Config       Configuration   `json:"config"`
	CodeHash     string          `json:"codeHash"`
	UnzippedSize int64           `json:"unzippedSize"`
	Policy       *resourcePolicy `json:"policy,omitempty"`
	Created      time.Time       `json:"created"`
}

type accountRecord struct {
	Reserved map[string]int `json:"reserved,omitempty"`
}

func functionKey(account, name string) string { return account + "." + name }

func versionKey(account, name string, n int) string {
	return fmt.Sprintf("%s.%s.%d", account, name, n)
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// lastModified formats t as Lambda's LastModified.
func lastModified(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000-0700")
}

func (s *Service) notFound(r Ref) *awserr.Error {
	return awserr.New(awserr.ResourceNotFound, "Function not found: %s", r.ARN(s.cfg.Region))
}

// load reads a function's record and revision.
func (s *Service) load(ctx context.Context, r Ref) (*functionRecord, uint64, error) {
	var rec functionRecord
	rev, err := s.functions.GetJSON(ctx, functionKey(r.Account, r.Name), &rec)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, s.notFound(Ref{Account: r.Account, Name: r.Name, Qualifier: r.Qualifier})
	}
	if err != nil {
		return nil, 0, fmt.Errorf("functions: load %s: %w", r.Name, err)
	}
	return &rec, rev, nil
}

// errRetry asks mutate to reload and apply the change again.
var errRetry = errors.New("functions: retry")

// mutate applies fn to the function's current record and writes it back if
// nobody changed it meanwhile, retrying on concurrent changes. fn returns
// errNoChange to skip the write.
func (s *Service) mutate(ctx context.Context, r Ref, fn func(*functionRecord) error) (*functionRecord, error) {
	for attempt := 0; ; attempt++ {
		rec, rev, err := s.load(ctx, r)
		if err != nil {
			return nil, err
		}
		if err := fn(rec); err != nil {
			if errors.Is(err, errNoChange) {
				return rec, nil
			}
			return nil, err
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("functions: encode %s: %w", r.Name, err)
		}
		key := functionKey(r.Account, r.Name)
		nrev, err := s.functions.Update(ctx, key, data, rev)
		if err == nil {
			s.noteFunction(key, data, nrev)
			return rec, nil
		}
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) || attempt >= 20 {
			return nil, fmt.Errorf("functions: update %s: %w", r.Name, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

var errNoChange = errors.New("functions: no change")

// checkRevision compares a client's RevisionId with the current one.
func checkRevision(given *string, current string) error {
	if given != nil && *given != current {
		return awserr.New(awserr.PreconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	return nil
}

// loadVersion reads published version n of a live function.
func (s *Service) loadVersion(ctx context.Context, rec *functionRecord, r Ref, n int) (*versionRecord, uint64, error) {
	if !slices.Contains(rec.Versions, n) {
		return nil, 0, s.notFound(r)
	}
	var v versionRecord
	rev, err := s.versions.GetJSON(ctx, versionKey(r.Account, r.Name, n), &v)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.Incarnation != rec.Incarnation) {
		return nil, 0, s.notFound(r)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("functions: load version %s:%d: %w", r.Name, n, err)
	}
	return &v, rev, nil
}

// updateVersion rewrites a version record (only its policy ever changes).
func (s *Service) updateVersion(ctx context.Context, r Ref, n int, fn func(*versionRecord) error) (*versionRecord, error) {
	for attempt := 0; ; attempt++ {
		rec, _, err := s.load(ctx, r)
		if err != nil {
			return nil, err
		}
		v, rev, err := s.loadVersion(ctx, rec, r, n)
		if err != nil {
			return nil, err
		}
		if err := fn(v); err != nil {
			return nil, err
		}
		_, err = s.versions.UpdateJSON(ctx, versionKey(r.Account, r.Name, n), v, rev)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= 20 {
			return nil, fmt.Errorf("functions: update version %s:%d: %w", r.Name, n, err)
		}
	}
}

func (s *Service) changed(account, name string, deleted bool) {
	if s.cfg.Changed != nil {
		s.cfg.Changed(account, name, deleted)
	}
}

// decodedRecord is a function record decoded from the mirror at a revision.
// Readers must not modify rec.
type decodedRecord struct {
	rev uint64
	rec *functionRecord
}

// noteFunction tells the mirror about our own write (nil data: deleted).
func (s *Service) noteFunction(key string, data []byte, rev uint64) {
	if s.fnMirror != nil {
		s.fnMirror.Note(key, data, rev)
	}
}

// cachedRecord returns the function's record from the mirror (falling back
// to the store when the mirror has not seen it yet). The result is shared:
// callers must not modify it.
func (s *Service) cachedRecord(ctx context.Context, r Ref) (*functionRecord, error) {
	key := functionKey(r.Account, r.Name)
	if s.fnMirror == nil {
		rec, _, err := s.load(ctx, r)
		return rec, err
	}
	e, ok := s.fnMirror.Get(key)
	if !ok {
		rec, _, err := s.load(ctx, r)
		return rec, err
	}
	if d, ok := s.decoded.Load(key); ok && d.(*decodedRecord).rev == e.Revision {
		return d.(*decodedRecord).rec, nil
	}
	var rec functionRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		return nil, fmt.Errorf("functions: decode %s: %w", key, err)
	}
	s.decoded.Store(key, &decodedRecord{rev: e.Revision, rec: &rec})
	return &rec, nil
}

// cachedVersion returns published version n, caching Active versions (their
// code and configuration never change).
func (s *Service) cachedVersion(ctx context.Context, rec *functionRecord, r Ref, n int) (*versionRecord, error) {
	if !slices.Contains(rec.Versions, n) {
		return nil, s.notFound(r)
	}
	key := versionKey(r.Account, r.Name, n)
	if v, ok := s.versionsC.Load(key); ok && v.(*versionRecord).Incarnation == rec.Incarnation {
		return v.(*versionRecord), nil
	}
	v, _, err := s.loadVersion(ctx, rec, r, n)
	if err != nil {
		return nil, err
	}
	if v.Config.State == StateActive {
		s.versionsC.Store(key, v)
	}
	return v, nil
}
