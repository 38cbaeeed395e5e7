package store

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// backend opens a fresh, isolated Store of one kind. Every test that is not
// about one backend's own behaviour runs against both: the embedded server in
// a temporary directory, and an external JetStream server the test starts
// itself and reaches over TCP with Config.URL.
type backend struct {
	name string
	// config returns the Config of a fresh, isolated store.
	config func(t *testing.T) Config
}

func backends() []backend {
	return []backend{
		{name: "embedded", config: func(t *testing.T) Config {
			return Config{DataDir: t.TempDir()}
		}},
		{name: "external", config: func(t *testing.T) Config {
			return Config{URL: startNATS(t, true).ClientURL()}
		}},
	}
}

// forEachBackend runs f as a parallel subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, st *Store)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, openStore(t, b.config(t)))
		})
	}
}

// openStore opens a Store and closes it when the test ends.
func openStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	st, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// startNATS runs a standalone NATS server on a random loopback port, with
// JetStream when jetStream is true, for as long as the test runs.
func startNATS(t testing.TB, jetStream bool) *server.Server {
	t.Helper()
	return startNATSOpts(t, &server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: jetStream,
		StoreDir:  t.TempDir(),
		NoSigs:    true,
		NoLog:     true,
	})
}

func startNATSOpts(t testing.TB, o *server.Options) *server.Server {
	t.Helper()
	ns, err := server.NewServer(o)
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		t.Fatal("nats server did not become ready")
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOpenCachesBucketsAndObjects(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		ctx := ctxT(t)
		b1, err := st.Bucket(ctx, "cache")
		if err != nil {
			t.Fatal(err)
		}
		b2, err := st.Bucket(ctx, "cache")
		if err != nil {
			t.Fatal(err)
		}
		if b1 != b2 {
			t.Error("Bucket returned a second handle for the same bucket")
		}
		if b1.Name() != "cache" {
			t.Errorf("Name() = %q, want cache", b1.Name())
		}
		o1, err := st.Objects(ctx, "cache")
		if err != nil {
			t.Fatal(err)
		}
		o2, err := st.Objects(ctx, "cache")
		if err != nil {
			t.Fatal(err)
		}
		if o1 != o2 {
			t.Error("Objects returned a second handle for the same object store")
		}
		if st.JetStream() == nil {
			t.Error("JetStream() is nil")
		}
		if st.Replicas() != 1 {
			t.Errorf("Replicas() = %d, want 1", st.Replicas())
		}
	})
}

func TestBucketNameRejected(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		_, err := st.Bucket(ctxT(t), "no spaces allowed")
		if err == nil || !strings.HasPrefix(err.Error(), "store: bucket ") {
			t.Fatalf("Bucket(invalid name) error = %v, want a store: bucket error", err)
		}
	})
}

// TestEmbeddedPersistsAcrossReopen: what one Store wrote, the next Store on
// the same directory reads back.
func TestEmbeddedPersistsAcrossReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := ctxT(t)
	blob := randomBytes(t, chunkSize+100)

	st, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Bucket(ctx, "durable")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := b.Create(ctx, "k", []byte("v1"))
	if err != nil {
		t.Fatal(err)
	}
	obs, err := st.Objects(ctx, "durable")
	if err != nil {
		t.Fatal(err)
	}
	if err := obs.Put(ctx, "blob", bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2 := openStore(t, Config{DataDir: dir})
	b2, err := st2.Bucket(ctx, "durable")
	if err != nil {
		t.Fatal(err)
	}
	e, err := b2.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Value) != "v1" || e.Revision != rev {
		t.Errorf("after reopen Get = %q@%d, want v1@%d", e.Value, e.Revision, rev)
	}
	obs2, err := st2.Objects(ctx, "durable")
	if err != nil {
		t.Fatal(err)
	}
	got, err := obs2.Get(ctx, "blob")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, blob) {
		t.Errorf("after reopen the blob differs (%d bytes, want %d)", len(got), len(blob))
	}
}

// TestEmbeddedLocksDataDir: a second Store on a directory in use fails with a
// clear error and leaves the first one working; after Close the directory is
// free again.
func TestEmbeddedLocksDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := ctxT(t)
	first, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, Config{DataDir: dir})
	if err == nil {
		first.Close()
		t.Fatal("second Open on the same data directory succeeded")
	}
	if want := "store: data directory " + dir + " is in use by another server"; !strings.Contains(err.Error(), want) {
		t.Errorf("second Open error = %q, want it to contain %q", err, want)
	}
	b, err := first.Bucket(ctx, "still-works")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "k", []byte("v")); err != nil {
		t.Errorf("first store broken after a rejected second Open: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	openStore(t, Config{DataDir: dir})
}

func TestOpenEmbeddedNeedsDataDir(t *testing.T) {
	t.Parallel()
	_, err := Open(ctxT(t), Config{})
	if err == nil || !strings.HasPrefix(err.Error(), "store: ") {
		t.Fatalf("Open without a data directory: err = %v, want a store: error", err)
	}
}

// TestEmbeddedListen: without Listen the embedded server has no port; with
// one, NATS clients can reach it there. Port 0 means a free port, as it does
// for every other listener, not NATS's default 4222.
func TestEmbeddedListen(t *testing.T) {
	t.Parallel()
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		st := openStore(t, Config{DataDir: t.TempDir()})
		if u := st.ClientURL(); u != "" {
			t.Errorf("ClientURL() = %q without Listen, want empty", u)
		}
	})
	t.Run("port zero picks a free port", func(t *testing.T) {
		t.Parallel()
		token := strings.Repeat("t0k3n", 8)
		st := openStore(t, Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Token: token})
		u := st.ClientURL()
		if u == "" {
			t.Fatal("ClientURL() is empty with Listen set")
		}
		_, port, err := net.SplitHostPort(strings.TrimPrefix(u, "nats://"))
		if err != nil {
			t.Fatal(err)
		}
		if port == "0" || port == strconv.Itoa(server.DEFAULT_PORT) {
			t.Errorf("Listen 127.0.0.1:0 served on port %s, want a free ephemeral port", port)
		}
		// A client without the token is refused: the state holds secrets.
		if _, err := Open(ctxT(t), Config{URL: u}); err == nil {
			t.Fatal("a client without the token connected to the embedded server")
		}
		// A second store (its own directory) reaches the first over TCP.
		other := openStore(t, Config{URL: strings.Replace(u, "nats://", "nats://"+token+"@", 1)})
		ctx := ctxT(t)
		b, err := st.Bucket(ctx, "shared")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Put(ctx, "k", []byte("from embedded")); err != nil {
			t.Fatal(err)
		}
		ob, err := other.Bucket(ctx, "shared")
		if err != nil {
			t.Fatal(err)
		}
		e, err := ob.Get(ctx, "k")
		if err != nil || string(e.Value) != "from embedded" {
			t.Errorf("external client Get = %q, %v; want the embedded store's value", e.Value, err)
		}
	})
	t.Run("listening needs a token", func(t *testing.T) {
		t.Parallel()
		if _, err := Open(ctxT(t), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"}); err == nil {
			t.Fatal("an embedded server listened without authorization")
		}
	})
	t.Run("bad address", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, err := Open(ctxT(t), Config{DataDir: dir, Listen: "no-port"})
		if err == nil || !strings.Contains(err.Error(), `store: listen address "no-port"`) {
			t.Fatalf("Open with Listen no-port: err = %v", err)
		}
		// The failed Open must have released the directory lock.
		openStore(t, Config{DataDir: dir})
	})
}

func TestOpenExternalFailures(t *testing.T) {
	t.Parallel()
	noJS := startNATS(t, false)
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return "nats://" + ln.Addr().String()
	}()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"nothing listening", Config{URL: closed}, "store: connect to nats"},
		{"jetstream disabled", Config{URL: noJS.ClientURL()}, "store: jetstream account info"},
		{"missing creds file", Config{URL: noJS.ClientURL(), CredsFile: filepath.Join(t.TempDir(), "none.creds")}, "store: connect to nats"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := Open(ctxT(t), tt.cfg)
			if err == nil {
				st.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestExternalIgnoresDataDir: with URL set nothing is written to, or locked
// in, DataDir.
func TestExternalIgnoresDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ns := startNATS(t, true)
	a := openStore(t, Config{URL: ns.ClientURL(), DataDir: dir})
	b := openStore(t, Config{URL: ns.ClientURL(), DataDir: dir})
	if a.ClientURL() != "" || b.ClientURL() != "" {
		t.Error("an external store reports an embedded client URL")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("external stores wrote %d entries into DataDir", len(entries))
	}
}

// TestExternalReplicas: the configured replica count reaches the buckets;
// a single server cannot host R3, which Open's callers see as a clear error.
func TestExternalReplicas(t *testing.T) {
	t.Parallel()
	ns := startNATS(t, true)
	st := openStore(t, Config{URL: ns.ClientURL(), Replicas: 3})
	if st.Replicas() != 3 {
		t.Errorf("Replicas() = %d, want 3", st.Replicas())
	}
	_, err := st.Bucket(ctxT(t), "r3")
	if err == nil || !strings.HasPrefix(err.Error(), "store: bucket r3: ") {
		t.Errorf("R3 bucket on a single server: err = %v, want a store: bucket r3 error", err)
	}

	emb := openStore(t, Config{DataDir: t.TempDir(), Replicas: 3})
	if emb.Replicas() != 1 {
		t.Errorf("embedded Replicas() = %d, want 1 whatever the config says", emb.Replicas())
	}
}

// TestExternalAuth: user and password in the URL authenticate to an external
// server; wrong ones fail Open instead of leaving a dead store.
func TestExternalAuth(t *testing.T) {
	t.Parallel()
	ns := startNATSOpts(t, &server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		NoSigs: true, NoLog: true, Username: "cloister", Password: "s3cret-pw",
	})
	addr := ns.Addr().String()
	st := openStore(t, Config{URL: "nats://cloister:s3cret-pw@" + addr})
	if _, err := st.Bucket(ctxT(t), "authed"); err != nil {
		t.Errorf("Bucket over an authenticated connection: %v", err)
	}
	for _, url := range []string{"nats://cloister:wrong@" + addr, "nats://" + addr} {
		bad, err := Open(ctxT(t), Config{URL: url})
		if err == nil {
			bad.Close()
			t.Errorf("Open(%s) succeeded with bad credentials", strings.Replace(url, "wrong", "***", 1))
			continue
		}
		if !strings.HasPrefix(err.Error(), "store: connect to nats: ") {
			t.Errorf("Open with bad credentials: %v", err)
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("the error reveals the password: %v", err)
		}
	}
}

// TestClosedStore: after Close, operations fail with an error rather than
// panicking or hanging, and a second Close is harmless.
func TestClosedStore(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st, err := Open(ctxT(t), b.config(t))
			if err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t)
			bk, err := st.Bucket(ctx, "closed")
			if err != nil {
				t.Fatal(err)
			}
			obs, err := st.Objects(ctx, "closed")
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := st.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := bk.Put(ctx, "k", []byte("v")); err == nil {
				t.Error("Put after Close succeeded")
			}
			if _, err := bk.Get(ctx, "k"); err == nil {
				t.Error("Get after Close succeeded")
			}
			if err := obs.Put(ctx, "o", strings.NewReader("x")); err == nil {
				t.Error("object Put after Close succeeded")
			}
		})
	}
}
