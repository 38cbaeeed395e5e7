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

	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/sandbox"
	"github.com/cloister/cloister/internal/stack"
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

	services, err := stack.Open(ctx, st, stack.Config{
		Region: cfg.Region, Logger: log, Runtimes: catalog, Sandboxes: sandboxes, RuntimeDir: runtimeDir,
		CodeDir: filepath.Join(dataDir, "cache", "code"), LogBytesPerFunction: cfg.LogBytesPerFunction,
		ConcurrencyLimit: cfg.ConcurrencyLimit, IdleTimeout: cfg.IdleTimeout, MaxLifetime: cfg.MaxLifetime,
	})
	if err != nil {
		return err
	}
	defer func() {
		// Only on early returns: the shutdown below has already closed it.
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		services.Close(stopCtx)
	}()
	account := services.Account
	if err := os.WriteFile(filepath.Join(dataDir, "account-id"), []byte(account+"\n"), 0o600); err != nil {
		return err
	}
	credsPath, err := ensureRootCredentials(ctx, services.IAM, account, dataDir)
	if err != nil {
		return err
	}
	if err := services.Start(); err != nil {
		return err
	}
	handler := services.Handler

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
	log.Info("cloister started", "endpoint", endpoint, "region", cfg.Region, "account", account, "data_dir", dataDir)
	printWelcome(endpoint, cfg.Region, account, credsPath)

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
	// kill the execution environments, let the event workers and the
	// remaining batches finish settling (their messages are retried after
	// their visibility timeout); 3. stop background workers and the
	// services; 4. remove the sandboxes' cgroups; the store closes last
	// (deferred).
	services.Close(drain)
	sandboxes.Close()
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
