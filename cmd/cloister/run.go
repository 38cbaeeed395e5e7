package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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

// runServer assembles the system, serves until ctx ends, and shuts down in
// order: stop accepting -> drain requests -> stop workers -> close state.
func runServer(ctx context.Context, cfg serverConfig) error {
	level := new(slog.LevelVar)
	level.Set(cfg.LogLevel)
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}

	var natsToken string
	if cfg.NATSListen != "" && cfg.NATSURL == "" {
		if natsToken, err = natsListenToken(dataDir); err != nil {
			return err
		}
	}
	st, err := store.Open(ctx, store.Config{
		DataDir: dataDir, URL: cfg.NATSURL, Listen: cfg.NATSListen, Token: natsToken, CredsFile: cfg.NATSCreds,
		Replicas: cfg.NATSReplicas, Logger: log,
	})
	if err != nil {
		return err
	}
	if u := st.ClientURL(); u != "" {
		log.Info("embedded NATS accepts clients", "url", u, "token_file", filepath.Join(dataDir, "nats-token"))
	}
	defer st.Close()

	workers, stopWorkers := context.WithCancel(context.Background())
	defer stopWorkers()

	ids, err := iam.Open(workers, st, log)
	if err != nil {
		return err
	}
	defer ids.Close()
	account, _, err := ids.DefaultAccount(ctx)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dataDir, "account-id"), []byte(account.ID+"\n"), 0o600); err != nil {
		return err
	}
	credsPath, err := ensureRootCredentials(ctx, ids, account.ID, dataDir)
	if err != nil {
		return err
	}

	catalog, err := runtimes.Discover()
	if err != nil {
		return err
	}
	runtimeDir, err := runtimes.Install(filepath.Join(dataDir, "runtimes"))
	if err != nil {
		return err
	}
	// Isolation fails closed: without a working sandbox the server does not
	// start.
	// Servers sharing a host must not share cgroups: name ours after the
	// data directory.
	sum := sha256.Sum256([]byte(dataDir))
	sandboxes, err := sandbox.NewManager(ctx, sandbox.Config{
		PoolSize: cfg.SandboxPool, Logger: log, CgroupParent: "cloister-" + hex.EncodeToString(sum[:4]),
	})
	if err != nil {
		return fmt.Errorf("sandboxes: %w", err)
	}
	defer sandboxes.Close()

	// The data plane and the control plane refer to each other through two
	// hooks: code preparation and retirement of changed functions.
	var dataPlane *invoke.Service
	fns, err := functions.Open(ctx, st, functions.Config{
		Region: cfg.Region, ConcurrencyLimit: cfg.ConcurrencyLimit, Runtimes: catalog, Logger: log,
		Prepare: func(ctx context.Context, hash string, zip []byte) error { return dataPlane.PrepareCode(ctx, hash, zip) },
		Ready:   func(ctx context.Context, latest functions.Configuration) { dataPlane.WarmCredentials(ctx, latest) },
		Changed: func(account, name string, deleted bool) { dataPlane.Retire(account, name, deleted) },
		ProvisionedState: func(account, name, qualifier string, requested int) (int, string) {
			return dataPlane.Provisioned(account, name, qualifier, requested)
		},
	})
	if err != nil {
		return err
	}
	functionLogs := logs.NewStore(cfg.LogBytesPerFunction)
	dataPlane, err = invoke.New(invoke.Config{
		Region: cfg.Region, Sandboxes: sandboxes, Functions: fns, Runtimes: catalog, RuntimeDir: runtimeDir,
		CodeDir: filepath.Join(dataDir, "cache", "code"), Logs: functionLogs,
		IdleTimeout: cfg.IdleTimeout, MaxLifetime: cfg.MaxLifetime, Logger: log, Credentials: ids.IssueRoleSession,
	})
	if err != nil {
		return err
	}
	defer dataPlane.Close()
	if err := fns.Start(workers); err != nil {
		return err
	}
	defer fns.Close()

	codeKey, err := sharedSecret(ctx, ids, "code-url-key")
	if err != nil {
		return err
	}
	receiptKey, err := sharedSecret(ctx, ids, "sqs-receipt-key")
	if err != nil {
		return err
	}
	queues, err := sqs.Open(ctx, st, sqs.Config{Region: cfg.Region, ReceiptKey: receiptKey, Logger: log})
	if err != nil {
		return err
	}
	if err := queues.Start(workers); err != nil {
		return err
	}
	defer queues.Close()
	// Asynchronous invocations: the event queue and its dispatcher. The
	// service is the API's Invoker: Event invocations are queued,
	// synchronous ones pass through to the data plane.
	events, err := async.Open(ctx, st, async.Config{
		Region: cfg.Region, Functions: fns, DataPlane: dataPlane, Queues: queues, Logger: log, AuthorizeRole: ids.AuthorizeRole,
	})
	if err != nil {
		return err
	}
	if err := events.Start(workers); err != nil {
		return err
	}
	defer events.Close()
	// Event source mappings: pollers that move queue messages into
	// synchronous invocations, on every server sharing the store.
	mappings, err := esm.Open(ctx, st, esm.Config{
		Region: cfg.Region, Functions: fns, Queues: queues, Logger: log, AuthorizeRole: ids.AuthorizeRole,
		Invoke: func(ctx context.Context, in esm.Invocation) (esm.Result, error) {
			res, err := dataPlane.Invoke(ctx, &api.InvokeRequest{RequestID: in.RequestID, Function: in.Function, Payload: in.Payload, Depth: in.Depth})
			if err != nil {
				return esm.Result{}, err
			}
			return esm.Result{Payload: res.Payload, FunctionError: res.FunctionError}, nil
		},
	})
	if err != nil {
		return err
	}
	if err := mappings.Start(workers); err != nil {
		return err
	}
	defer func() {
		// Only on early returns: the shutdown below has already closed it.
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		_ = mappings.Close(stopCtx)
	}()
	handler, err := api.New(api.Config{
		Region: cfg.Region, Keys: ids, Authorizer: ids, IAM: ids, Functions: fns, Invoker: events, SQS: queues,
		EventSourceMappings: mappings, CodeURLKey: codeKey, Logger: log,
	})
	if err != nil {
		return err
	}
	// Functions reach the same API from inside their sandboxes.
	dataPlane.SetAPI(handler)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if cfg.DebugListen != "" {
		stopDebug, err := serveDebug(cfg.DebugListen, log)
		if err != nil {
			return err
		}
		defer stopDebug()
	}

	endpoint := "http://" + ln.Addr().String()
	log.Info("cloister started", "endpoint", endpoint, "region", cfg.Region, "account", account.ID, "data_dir", dataDir)
	printWelcome(endpoint, cfg.Region, account.ID, credsPath)

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("shutting down")
	// 1. Stop accepting and drain in-flight requests.
	drain, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil {
		log.Warn("drain did not finish; closing remaining connections", "err", err)
		_ = srv.Close()
	}
	// 2. Stop the pollers of event source mappings and give their batches
	// in flight what is left of the drain time; stop taking queued events
	// (invocations the data plane's shutdown ends go back to the queue),
	// kill the execution environments and remove their cgroups, then let
	// the event workers and the remaining batches finish settling (their
	// messages are retried after their visibility timeout).
	if err := mappings.Close(drain); err != nil {
		log.Warn("event source mapping batches still running; the data plane's shutdown ends them", "err", err)
	}
	events.Stop()
	dataPlane.Close()
	sandboxes.Close()
	events.Close()
	_ = mappings.Close(context.Background())
	// 3. Stop background workers; 4. the store closes last (deferred).
	stopWorkers()
	queues.Close()
	fns.Close()
	ids.Close()
	log.Info("stopped")
	return nil
}

// ensureRootCredentials makes sure the account root has an access key and,
// when Cloister generates it, that it is written to DIR/credentials before it
// becomes valid. It returns the file's path when there is one.
func ensureRootCredentials(ctx context.Context, ids *iam.Service, account, dataDir string) (string, error) {
	path := filepath.Join(dataDir, "credentials")
	chosen := os.Getenv("CLOISTER_ROOT_ACCESS_KEY_ID")
	_, _, err := ids.EnsureRootKeyPersisted(ctx, account, chosen,
		iam.Secret(os.Getenv("CLOISTER_ROOT_SECRET_ACCESS_KEY")), func(k iam.Key) error {
			body := fmt.Sprintf("# Cloister root credentials for account %s.\n[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n[cloister]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
				account, k.AccessKeyID, k.Secret.Reveal(), k.AccessKeyID, k.Secret.Reveal())
			return writeFileAtomic(path, []byte(body), 0o600)
		})
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	return "", nil
}

// sharedSecret returns a random 32-byte secret shared by every server using
// this store, creating it once.
func sharedSecret(ctx context.Context, ids *iam.Service, name string) ([]byte, error) {
	meta := ids.Meta()
	if e, err := meta.Get(ctx, name); err == nil {
		return e.Value, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if _, err := meta.Create(ctx, name, b); err != nil {
		if errors.Is(err, store.ErrExists) {
			return sharedSecret(ctx, ids, name)
		}
		return nil, err
	}
	return b, nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func printWelcome(endpoint, region, account, credsPath string) {
	fmt.Printf("Cloister is serving the AWS Lambda, IAM, STS and SQS APIs at %s (region %s, account %s).\n", endpoint, region, account)
	switch {
	case credsPath != "":
		fmt.Printf(`Root credentials are in %s. Point the AWS CLI at Cloister with:

  export AWS_SHARED_CREDENTIALS_FILE=%s AWS_REGION=%s AWS_DEFAULT_REGION=%s
  aws --endpoint-url %s lambda list-functions

`, credsPath, credsPath, region, region, endpoint)
	case os.Getenv("CLOISTER_ROOT_ACCESS_KEY_ID") != "":
		fmt.Printf("Use the root access key from CLOISTER_ROOT_ACCESS_KEY_ID with: aws --endpoint-url %s --region %s lambda list-functions\n", endpoint, region)
	default:
		fmt.Printf("The root credentials file is gone; Cloister keeps no copy of secrets it can show. Use an IAM user's key, or set CLOISTER_ROOT_ACCESS_KEY_ID/CLOISTER_ROOT_SECRET_ACCESS_KEY on a new data directory.\n")
	}
}

// natsListenToken returns the token NATS clients must present to the
// embedded server when it listens, creating DIR/nats-token (0600) once.
func natsListenToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "nats-token")
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); len(t) >= 32 {
			return t, nil
		}
		return "", fmt.Errorf("%s does not hold a token of at least 32 characters", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	t := hex.EncodeToString(b)
	return t, writeFileAtomic(path, []byte(t+"\n"), 0o600)
}
