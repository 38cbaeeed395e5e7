// Package stack assembles one Cloister server's services on one store: the
// identity service, functions, the data plane, queues, asynchronous
// invocations, event source mappings and the API in front of them, wired to
// each other through their hooks. cmd/cloister serves it; the packages'
// test harnesses build theirs with it, so that what they test is wired as
// what runs.
//
// The store and the sandbox manager are the caller's: it opens them before
// Open and closes them after Close.
package stack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/async"
	"github.com/cloister/cloister/internal/esm"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/invoke"
	"github.com/cloister/cloister/internal/logs"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/sandbox"
	"github.com/cloister/cloister/internal/sqs"
	"github.com/cloister/cloister/internal/store"
)

// Config configures a Stack.
type Config struct {
	Region string
	Logger *slog.Logger // default slog.Default()

	// Runtimes is the catalog of runtimes functions may name.
	Runtimes *runtimes.Catalog
	// Sandboxes runs functions. Without it the stack has no data plane:
	// functions can be managed but invocations fail with
	// ServiceUnavailableException.
	Sandboxes *sandbox.Manager
	// RuntimeDir holds the installed runtime clients and CodeDir the
	// unpacked code packages (both required with Sandboxes).
	RuntimeDir, CodeDir string
	// LogBytesPerFunction bounds each function's in-memory log (default
	// 1 MiB).
	LogBytesPerFunction int
	// ConcurrencyLimit is each account's concurrent executions (default
	// Lambda's 1000).
	ConcurrencyLimit int
	// IdleTimeout and MaxLifetime bound execution environments (invoke's
	// defaults when zero).
	IdleTimeout, MaxLifetime time.Duration

	// CodeURLKey signs code download URLs and ReceiptKey seals SQS receipt
	// handles; when nil, each is a random secret kept in the store, shared
	// by every server using it.
	CodeURLKey, ReceiptKey []byte

	// Async and ESM tune those services (workers, delays, clock, poll
	// wait); Open fills in their wiring (region, services, data plane,
	// role authorization, logger).
	Async async.Config
	ESM   esm.Config

	// Test seams. Credentials issues execution-role credentials (default:
	// the identity service's role sessions). WrapDataPlane wraps the data
	// plane as asynchronous invocations and event source mappings see it,
	// for example to count or delay invocations.
	Credentials   invoke.Issuer
	WrapDataPlane func(DataPlane) DataPlane
}

// DataPlane runs synchronous invocations: the data plane, as the
// asynchronous and event source mapping services call it.
type DataPlane = async.DataPlane

// Stack is one server's services.
type Stack struct {
	IAM       *iam.Service
	Account   string // the default account's id
	Functions *functions.Service
	DataPlane *invoke.Service // nil without sandboxes
	Logs      *logs.Store
	Queues    *sqs.Service
	Events    *async.Service
	Mappings  *esm.Service
	Handler   *api.Server

	dataPlaneCfg invoke.Config
	mappingCfg   esm.Config

	log     *slog.Logger
	workers context.Context
	stop    context.CancelFunc
}

// Open opens every service on st and wires them; nothing runs in the
// background until Start. On error it closes what it opened.
func Open(ctx context.Context, st *store.Store, cfg Config) (_ *Stack, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LogBytesPerFunction == 0 {
		cfg.LogBytesPerFunction = 1 << 20
	}
	if cfg.Runtimes == nil {
		return nil, errors.New("stack: a runtime catalog is required")
	}
	s := &Stack{log: cfg.Logger, Logs: logs.NewStore(cfg.LogBytesPerFunction)}
	s.workers, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if err != nil {
			s.Close(ctx)
		}
	}()
	if s.IAM, err = iam.Open(s.workers, st, cfg.Logger); err != nil {
		return nil, err
	}
	account, _, err := s.IAM.DefaultAccount(ctx)
	if err != nil {
		return nil, err
	}
	s.Account = account.ID
	if cfg.CodeURLKey == nil {
		if cfg.CodeURLKey, err = sharedSecret(ctx, s.IAM, "code-url-key"); err != nil {
			return nil, err
		}
	}
	if cfg.ReceiptKey == nil {
		if cfg.ReceiptKey, err = sharedSecret(ctx, s.IAM, "sqs-receipt-key"); err != nil {
			return nil, err
		}
	}
	if err := s.openFunctions(ctx, st, cfg); err != nil {
		return nil, err
	}
	if s.Queues, err = sqs.Open(ctx, st, sqs.Config{Region: cfg.Region, ReceiptKey: cfg.ReceiptKey, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	dp := s.dataPlane()
	if cfg.WrapDataPlane != nil {
		dp = cfg.WrapDataPlane(dp)
	}
	// Asynchronous invocations: the event queue and its dispatcher. The
	// service is the API's Invoker: Event invocations are queued,
	// synchronous ones pass through to the data plane.
	a := cfg.Async
	a.Region, a.Functions, a.DataPlane, a.Queues, a.AuthorizeRole = cfg.Region, s.Functions, dp, s.Queues, s.IAM.AuthorizeRole
	if a.Logger == nil {
		a.Logger = cfg.Logger
	}
	if s.Events, err = async.Open(ctx, st, a); err != nil {
		return nil, err
	}
	// Event source mappings: pollers that move queue messages into
	// synchronous invocations, on every server sharing the store.
	m := cfg.ESM
	m.Region, m.Functions, m.Queues, m.AuthorizeRole = cfg.Region, s.Functions, s.Queues, s.IAM.AuthorizeRole
	m.Invoke = func(ctx context.Context, in esm.Invocation) (esm.Result, error) {
		res, err := dp.Invoke(ctx, &api.InvokeRequest{RequestID: in.RequestID, Function: in.Function, Payload: in.Payload, Depth: in.Depth})
		if err != nil {
			return esm.Result{}, err
		}
		return esm.Result{Payload: res.Payload, FunctionError: res.FunctionError}, nil
	}
	if m.Logger == nil {
		m.Logger = cfg.Logger
	}
	s.mappingCfg = m
	if s.Mappings, err = esm.Open(ctx, st, m); err != nil {
		return nil, err
	}
	if s.Handler, err = api.New(api.Config{
		Region: cfg.Region, Keys: s.IAM, Authorizer: s.IAM, IAM: s.IAM, Functions: s.Functions, Invoker: s.Events,
		SQS: s.Queues, EventSourceMappings: s.Mappings, CodeURLKey: cfg.CodeURLKey, Logger: cfg.Logger,
	}); err != nil {
		return nil, err
	}
	if s.DataPlane != nil {
		// Functions reach the same API from inside their sandboxes.
		s.DataPlane.SetAPI(s.Handler)
	}
	return s, nil
}

// openFunctions opens the function service and the data plane, which refer
// to each other through hooks: code preparation, credentials issued before
// a function turns Active, retirement of changed functions and the state of
// provisioned concurrency.
func (s *Stack) openFunctions(ctx context.Context, st *store.Store, cfg Config) error {
	fc := functions.Config{Region: cfg.Region, ConcurrencyLimit: cfg.ConcurrencyLimit, Runtimes: cfg.Runtimes, Logger: cfg.Logger}
	if cfg.Sandboxes != nil {
		fc.Prepare = func(ctx context.Context, hash string, zip []byte) error {
			return s.DataPlane.PrepareCode(ctx, hash, zip)
		}
		fc.PrepareLayers = func(ctx context.Context, account string, layers []functions.Layer) error {
			return s.DataPlane.PrepareLayers(ctx, account, layers)
		}
		fc.Ready = func(ctx context.Context, latest functions.Configuration) { s.DataPlane.WarmCredentials(ctx, latest) }
		fc.Changed = func(account, name string, deleted bool) { s.DataPlane.Retire(account, name, deleted) }
		fc.ProvisionedState = func(account, name, qualifier string, requested int) (int, string) {
			return s.DataPlane.Provisioned(account, name, qualifier, requested)
		}
	}
	var err error
	if s.Functions, err = functions.Open(ctx, st, fc); err != nil {
		return err
	}
	if cfg.Sandboxes == nil {
		return nil
	}
	creds := cfg.Credentials
	if creds == nil {
		creds = s.IAM.IssueRoleSession
	}
	s.dataPlaneCfg = invoke.Config{
		Region: cfg.Region, Sandboxes: cfg.Sandboxes, Functions: s.Functions, Runtimes: cfg.Runtimes,
		RuntimeDir: cfg.RuntimeDir, CodeDir: cfg.CodeDir, Logs: s.Logs, IdleTimeout: cfg.IdleTimeout,
		MaxLifetime: cfg.MaxLifetime, Credentials: creds, Logger: cfg.Logger,
	}
	s.DataPlane, err = invoke.New(s.dataPlaneCfg)
	return err
}

// DataPlaneConfig is the configuration the data plane was built with (the
// zero Config without sandboxes): a second data plane on these services,
// as the tests of its lifecycle run, starts from it.
func (s *Stack) DataPlaneConfig() invoke.Config { return s.dataPlaneCfg }

// MappingConfig is the event source mapping service's configuration, wired
// to these services: a second server's mapping service on the same store
// starts from it.
func (s *Stack) MappingConfig() esm.Config { return s.mappingCfg }

// dataPlane is the data plane as the asynchronous and mapping services call
// it; without sandboxes it refuses every invocation.
func (s *Stack) dataPlane() DataPlane {
	if s.DataPlane != nil {
		return s.DataPlane
	}
	return noDataPlane{}
}

type noDataPlane struct{}

func (noDataPlane) Invoke(context.Context, *api.InvokeRequest) (*api.InvokeResult, error) {
	return nil, api.ErrNoDataPlane()
}

// Start runs every service's background work.
func (s *Stack) Start() error {
	if err := s.StartServices(); err != nil {
		return err
	}
	return s.StartDispatcher()
}

// StartServices runs the background work of all but the asynchronous
// dispatcher: function state, queues, event source mappings.
func (s *Stack) StartServices() error {
	if err := s.Functions.Start(s.workers); err != nil {
		return err
	}
	if err := s.Queues.Start(s.workers); err != nil {
		return err
	}
	return s.Mappings.Start(s.workers)
}

// StartDispatcher runs the asynchronous invocations' dispatcher.
func (s *Stack) StartDispatcher() error { return s.Events.Start(s.workers) }

// Close shuts the services down in order. The event source mappings' and
// the dispatcher's work in flight gets until drain ends; then the data
// plane kills the execution environments (invocations it ends go back to
// their queues), the remaining work settles, background workers stop, and
// the services close. Repeated calls are no-ops.
func (s *Stack) Close(drain context.Context) {
	if s.Mappings != nil {
		if err := s.Mappings.Close(drain); err != nil {
			s.log.Warn("event source mapping batches still running; the data plane's shutdown ends them", "err", err)
		}
	}
	if s.Events != nil {
		s.Events.Stop()
	}
	if s.DataPlane != nil {
		s.DataPlane.Close()
	}
	if s.Events != nil {
		s.Events.Close()
	}
	if s.Mappings != nil {
		_ = s.Mappings.Close(context.Background())
	}
	s.stop()
	if s.Queues != nil {
		s.Queues.Close()
	}
	if s.Functions != nil {
		s.Functions.Close()
	}
	if s.IAM != nil {
		s.IAM.Close()
	}
}

// sharedSecret returns a random 32-byte secret shared by every server using
// the store, creating it once.
func sharedSecret(ctx context.Context, ids *iam.Service, name string) ([]byte, error) {
	meta := ids.Meta()
	if e, err := meta.Get(ctx, name); err == nil {
		return e.Value, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("stack: read %s: %w", name, err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if _, err := meta.Create(ctx, name, b); err != nil {
		if errors.Is(err, store.ErrExists) {
			return sharedSecret(ctx, ids, name)
		}
		return nil, fmt.Errorf("stack: create %s: %w", name, err)
	}
	return b, nil
}
