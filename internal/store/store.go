package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Sentinel errors, checked with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	ErrConflict = errors.New("store: revision conflict")
)

// Config says where state lives.
type Config struct {
	// DataDir holds the embedded server's JetStream files. Ignored when URL
	// is set.
	DataDir string
	// URL, when set, connects to an external NATS JetStream cluster instead
	// of starting the embedded server.
	URL string
	// Replicas for buckets and streams created on an external cluster
	// (1 when zero). The embedded server always uses 1.
	Replicas int
	// Listen, when set, makes the embedded server accept NATS clients on
	// this address (host:port). Empty means no network port at all.
	Listen string
	// Token is required with Listen: clients must present it. (The state
	// holds secrets; an open NATS port would hand them to anyone.)
	Token string
	// Credentials for an external cluster: a .creds file, or user/password
	// in the URL. Optional.
	CredsFile string
	Logger    *slog.Logger
}

// Store is an open connection to JetStream, embedded or external.
type Store struct {
	srv      *server.Server // nil when external
	nc       *nats.Conn
	js       jetstream.JetStream
	replicas int
	log      *slog.Logger
	lock     *os.File

	mu      sync.Mutex
	buckets map[string]*Bucket
	objects map[string]*Objects
}

// MaxMessage is the largest message the embedded server accepts. External
// clusters default to 1 MiB; Cloister keeps its own messages below that.
const MaxMessage = 8 << 20

// Open starts (or connects to) JetStream and returns a ready Store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		log:      log.With("component", "store"),
		replicas: max(cfg.Replicas, 1),
		buckets:  map[string]*Bucket{},
		objects:  map[string]*Objects{},
	}
	opts := []nats.Option{
		nats.Name("cloister"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
	}
	url := cfg.URL
	if url == "" {
		s.replicas = 1
		if err := s.startEmbedded(cfg); err != nil {
			return nil, err
		}
		opts = append(opts, nats.InProcessServer(s.srv))
		if cfg.Listen != "" {
			opts = append(opts, nats.Token(cfg.Token))
		}
	} else if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		s.shutdownEmbedded()
		return nil, fmt.Errorf("store: connect to nats: %w", err)
	}
	s.nc = nc
	// Requests without a deadline of their own get 30 s, not 5: a busy
	// machine must slow requests down, not fail them.
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(30*time.Second))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: jetstream: %w", err)
	}
	s.js = js
	// Fail early if JetStream is not enabled on an external server.
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := js.AccountInfo(actx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: jetstream account info: %w", err)
	}
	return s, nil
}

func (s *Store) startEmbedded(cfg Config) error {
	if cfg.DataDir == "" {
		return errors.New("store: embedded server needs a data directory")
	}
	dir := filepath.Join(cfg.DataDir, "jetstream")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	// Parse the listen address before taking the lock, so that a bad
	// address cannot leave the directory locked.
	host, port, listen := "", 0, cfg.Listen != ""
	if listen {
		var err error
		if host, port, err = splitHostPort(cfg.Listen); err != nil {
			return err
		}
		if port == 0 {
			// NATS reads port 0 as its default, 4222; a listener's port 0
			// means "any free port" everywhere else.
			port = server.RANDOM_PORT
		}
	}
	lock, err := lockDir(cfg.DataDir)
	if err != nil {
		return err
	}
	s.lock = lock
	o := &server.Options{
		ServerName: "cloister",
		JetStream:  true,
		StoreDir:   dir,
		// fsync before every acknowledgement: no acknowledged write may be
		// lost on a crash.
		SyncAlways: true,
		NoSigs:     true,
		MaxPayload: MaxMessage,
		// The maximum pending size must exceed the payload.
		MaxPending:      4 * MaxMessage,
		DontListen:      true,
		NoSystemAccount: true,
	}
	if listen {
		if len(cfg.Token) < 32 {
			unlockDir(s.lock)
			s.lock = nil
			return errors.New("store: a listening embedded server needs an authorization token of at least 32 characters")
		}
		o.DontListen = false
		o.Host, o.Port = host, port
		o.Authorization = cfg.Token
	}
	srv, err := server.NewServer(o)
	if err != nil {
		unlockDir(s.lock)
		s.lock = nil
		return fmt.Errorf("store: new nats server: %w", err)
	}
	srv.SetLoggerV2(natsLogger{s.log}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		unlockDir(s.lock)
		s.lock = nil
		return errors.New("store: embedded nats server did not become ready")
	}
	s.srv = srv
	return nil
}

// ClientURL is the embedded server's client URL when it listens on a port,
// or "" otherwise.
func (s *Store) ClientURL() string {
	if s.srv == nil || s.srv.Addr() == nil {
		return ""
	}
	return s.srv.ClientURL()
}

// JetStream exposes the JetStream context for streams and consumers that
// other packages own (queues, async events).
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// Replicas is the replica count to use for streams and buckets.
func (s *Store) Replicas() int { return s.replicas }

// Close drains the connection and shuts down the embedded server.
func (s *Store) Close() error {
	var err error
	if s.nc != nil {
		if derr := s.nc.Drain(); derr != nil && !errors.Is(derr, nats.ErrConnectionClosed) {
			err = fmt.Errorf("store: drain: %w", derr)
		}
		// Drain is asynchronous; wait for it to finish.
		deadline := time.Now().Add(5 * time.Second)
		for !s.nc.IsClosed() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		s.nc.Close()
	}
	s.shutdownEmbedded()
	return err
}

func (s *Store) shutdownEmbedded() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
	if s.lock != nil {
		unlockDir(s.lock)
		s.lock = nil
	}
}

// natsLogger routes the embedded server's log lines to slog.
type natsLogger struct{ l *slog.Logger }

func (n natsLogger) Noticef(f string, v ...any) { n.l.Debug(fmt.Sprintf(f, v...)) }
func (n natsLogger) Warnf(f string, v ...any)   { n.l.Warn(fmt.Sprintf(f, v...)) }
func (n natsLogger) Fatalf(f string, v ...any)  { n.l.Error(fmt.Sprintf(f, v...)) }
func (n natsLogger) Errorf(f string, v ...any)  { n.l.Error(fmt.Sprintf(f, v...)) }
func (n natsLogger) Debugf(f string, v ...any)  {}
func (n natsLogger) Tracef(f string, v ...any)  {}
