package invoke

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/arn"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
)

// Execution-role credentials. Every environment receives short-lived
// credentials for its function's execution role in AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. An environment is retired
// before its credentials expire (see usable), so a running function never
// holds expired credentials: new environments get fresh ones. Credentials
// are shared by the environments of one function and role while they have
// at least MaxLifetime left, which keeps issuing a session (a durable write)
// off most cold starts.

// apiAddr is where a function reaches Cloister's API from inside its
// sandbox (AWS_ENDPOINT_URL). The host serves it on a listener the sandbox
// opened in its own network namespace.
const apiAddr = "127.0.0.1:9002"

// Issuer issues execution-role credentials (iam.Service.IssueRoleSession).
type Issuer func(ctx context.Context, roleARN, sessionName string, d time.Duration) (iam.Credentials, error)

type credCache struct {
	mu sync.Mutex
	m  map[string]iam.Credentials
}

// lifetimeFor is how long issued credentials last: long enough that a
// cached set still outlives a new environment, within STS's 12 hours.
func (s *Service) credentialLifetime() time.Duration {
	return min(12*time.Hour, max(2*s.cfg.MaxLifetime+10*time.Minute, time.Hour))
}

// credentials returns credentials for fn's execution role.
func (s *Service) credentials(ctx context.Context, fn *functions.Function) (iam.Credentials, error) {
	role := fn.Config.Role
	key := arn.Account(fn.Config.FunctionArn) + "/" + fn.Config.FunctionName + "|" + role
	s.creds.mu.Lock()
	c, ok := s.creds.m[key]
	s.creds.mu.Unlock()
	if ok && time.Until(c.Expiration) > s.cfg.MaxLifetime+5*time.Minute {
		return c, nil
	}
	c, err := s.cfg.Credentials(ctx, role, iam.LambdaSessionName(fn.Config.FunctionName), s.credentialLifetime())
	if err != nil {
		if awserr.IsType(err, awserr.AccessDenied) || awserr.IsType(err, awserr.InvalidParameterValue) || isNotAssumable(err) {
			return iam.Credentials{}, awserr.Wrap(awserr.InvalidParameterValue, err, "The role defined for the function cannot be assumed by Lambda.")
		}
		return iam.Credentials{}, err
	}
	s.creds.mu.Lock()
	if s.creds.m == nil {
		s.creds.m = map[string]iam.Credentials{}
	}
	s.creds.m[key] = c
	s.creds.mu.Unlock()
	return c, nil
}

// WarmCredentials issues (and caches) the execution-role credentials of a
// function that has just become ready, so that its first cold start does
// not wait for a durable write. Failures are left for the first invocation
// to report.
func (s *Service) WarmCredentials(ctx context.Context, latest functions.Configuration) {
	if _, err := s.credentials(ctx, &functions.Function{Config: latest}); err != nil {
		s.log.Debug("execution role credentials not issued ahead of the first invocation", "function", latest.FunctionName, "err", err)
	}
}

func isNotAssumable(err error) bool { return errors.Is(err, iam.ErrRoleNotAssumable) }

// SetAPI gives the data plane the API handler to serve inside environments.
// Call it once, before the first invocation.
func (s *Service) SetAPI(h http.Handler) { s.api.Store(&h) }

// serveAPI serves Cloister's API on an environment's in-sandbox listener.
// Requests carry the depth of the invocation the function is serving, so
// that a chain of functions calling functions cannot loop forever.
func (e *env) serveAPI(ln net.Listener, h http.Handler) {
	tagged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(api.WithCallerDepth(r.Context(), e.depth())))
	})
	el := &evictingListener{Listener: ln, max: maxAPIConns, open: map[*trackedConn]bool{}}
	srv := &http.Server{Handler: tagged, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10,
		IdleTimeout: apiIdleTimeout, ConnState: el.connState}
	e.apiSrv = srv
	e.wg.Go(func() { _ = srv.Serve(el) })
}

// Limits of the in-sandbox API. A function that makes a new SDK client per
// invocation leaves an idle keep-alive connection behind each time: at the
// cap, the longest-idle connection is closed to make room, so such a
// function is never refused; only one with maxAPIConns requests in flight
// at once is (its extra connections are closed at once).
const (
	maxAPIConns    = 16
	apiIdleTimeout = 30 * time.Second
)

// evictingListener caps the open connections of an http.Server, closing
// the longest-idle one when a new one arrives at the cap.
type evictingListener struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open map[*trackedConn]bool
}

type trackedConn struct {
	net.Conn
	l         *evictingListener
	idle      bool
	idleSince time.Time
	once      sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.open, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

func (l *evictingListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if len(l.open) >= l.max {
			var victim *trackedConn
			for c := range l.open {
				if c.idle && (victim == nil || c.idleSince.Before(victim.idleSince)) {
					victim = c
				}
			}
			if victim == nil { // every connection is busy: refuse
				l.mu.Unlock()
				nc.Close()
				continue
			}
			delete(l.open, victim)
			victim.once.Do(func() {})
			l.mu.Unlock()
			victim.Conn.Close()
			l.mu.Lock()
		}
		c := &trackedConn{Conn: nc, l: l}
		l.open[c] = true
		l.mu.Unlock()
		return c, nil
	}
}

// connState follows which connections sit idle between requests.
func (l *evictingListener) connState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*trackedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch st {
	case http.StateIdle:
		c.idle, c.idleSince = true, time.Now()
	case http.StateActive:
		c.idle = false
	}
}

// depth is the depth of the invocation the environment serves (or served
// last: a background thread's calls count as part of it).
func (e *env) depth() int {
	e.rt.mu.Lock()
	defer e.rt.mu.Unlock()
	return e.rt.lastDepth
}
