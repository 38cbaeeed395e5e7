package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/esm"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/policy"
	"github.com/cloister/cloister/internal/sigv4"
	"github.com/cloister/cloister/internal/sqs"
)

// Authorizer decides whether a caller may perform an action on a resource.
// It returns nil to allow, or an error (AccessDeniedException) to deny.
type Authorizer interface {
	Authorize(ctx context.Context, req iam.Request) error
}

// AuditEvent is one API call, as the audit trail records it. It holds no
// request or response bodies.
type AuditEvent struct {
	Time      time.Time
	RequestID string
	Caller    iam.Principal
	Action    string
	Resource  string
	SourceIP  string
	UserAgent string
	Status    int
	ErrorType string
}

// Auditor records API calls.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent)
}

// Keys finds the access key a request was signed with.
type Keys interface {
	LookupKey(ctx context.Context, id string) (iam.Key, error)
}

// Config wires the API to the domain services.
type Config struct {
	Region     string
	Keys       Keys
	Authorizer Authorizer
	Auditor    Auditor
	Functions  *functions.Service
	Invoker    Invoker
	// IAM, when set, serves the IAM and STS Query APIs and the
	// Organizations API on POST /, and the account administration endpoint
	// under /_cloister/admin/.
	IAM *iam.Service
	// SQS, when set, serves the Amazon SQS API (JSON and Query protocols)
	// on POST / and on queue-URL paths.
	SQS *sqs.Service
	// EventSourceMappings, when set, serves the event source mapping
	// operations (see lambda_esm.go).
	EventSourceMappings *esm.Service
	// CodeURLKey signs GetFunction's short-lived code download URLs.
	CodeURLKey []byte
	Logger     *slog.Logger
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Server is the HTTP handler for every API Cloister serves.
type Server struct {
	cfg      Config
	log      *slog.Logger
	verifier *sigv4.Verifier
	lambda   *http.ServeMux
	routes   map[string]*route
}

// New builds the API server.
func New(cfg Config) (*Server, error) {
	if cfg.Region == "" || cfg.Keys == nil || cfg.Authorizer == nil || cfg.Functions == nil || cfg.IAM == nil {
		return nil, errors.New("api: region, keys, authorizer, IAM and functions are required")
	}
	if len(cfg.CodeURLKey) < 32 {
		return nil, errors.New("api: code URL key must be at least 32 bytes")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Auditor == nil {
		cfg.Auditor = LogAuditor{Logger: cfg.Logger}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "api"),
		verifier: sigv4.NewVerifier(),
		lambda:   http.NewServeMux(),
		routes:   map[string]*route{},
	}
	for _, rt := range append(s.lambdaRoutes(), s.layerRoutes()...) {
		rt := rt
		s.routes[rt.pattern] = &rt
		// The mux is only a matcher: its handler records which route
		// matched and the request carrying the path values.
		s.lambda.HandleFunc(rt.pattern, func(_ http.ResponseWriter, r *http.Request) {
			if m, ok := r.Context().Value(matchKey{}).(*match); ok {
				m.route, m.r = &rt, r
			}
		})
	}
	return s, nil
}

type matchKey struct{}

type match struct {
	route *route
	r     *http.Request
}

// discard is a ResponseWriter for the matcher's own not-found replies.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// matchRoute finds the operation a request is for.
func (s *Server) matchRoute(r *http.Request) (*route, *http.Request) {
	m := &match{}
	s.lambda.ServeHTTP(&discard{}, r.WithContext(context.WithValue(r.Context(), matchKey{}, m)))
	if m.route == nil {
		return nil, r
	}
	return m.route, m.r.WithContext(r.Context())
}

// route is one operation.
type route struct {
	pattern string
	// action is the IAM action, e.g. "lambda:GetFunction".
	action string
	// resource derives the resource ARN and its account (before the
	// handler runs, for authorization). It may stash parsed input in c.
	resource func(c *call) (arn, account string, err error)
	handle   func(c *call) error
	// maxBody is the largest accepted body; 0 means 1 MiB.
	maxBody int64
	// tooLarge is the RequestEntityTooLarge message for this operation.
	tooLarge string
}

// call is one request being served.
type call struct {
	ctx       context.Context
	w         http.ResponseWriter
	r         *http.Request
	body      []byte
	caller    iam.Principal
	requestID string
	route     *route
	// layer and layerVersion are what a layer route's path names.
	layer        functions.LayerRef
	layerVersion int
	resource     string
	status       int
	errType      string
	// parsed identifiers, set by resource derivation
	ref functions.Ref
	// input decoded early (CreateFunction's name is in the body)
	input any
	// conditions are the route's condition keys for authorization, and
	// resourcePolicy the target's resource-based policy (set by the
	// route's resource derivation).
	conditions     map[string][]string
	resourcePolicy func(ctx context.Context) (*policy.Policy, error)
	// account owns the resource (for authorization).
	account string
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ServeHTTP serves every API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{ctx: r.Context(), w: w, r: r, requestID: newRequestID()}
	w.Header().Set("X-Amzn-RequestId", c.requestID)
	if strings.HasPrefix(r.URL.Path, "/_cloister/") && !strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveInternal(c)
		return
	}
	err := s.serve(c)
	if err != nil {
		s.writeError(c, err)
	}
	if c.route != nil {
		s.cfg.Auditor.Record(c.ctx, AuditEvent{
			Time: s.cfg.Now().UTC(), RequestID: c.requestID, Caller: c.caller, Action: c.route.action,
			Resource: c.resource, SourceIP: sourceIP(r), UserAgent: r.UserAgent(), Status: c.status, ErrorType: c.errType,
		})
	}
}

func (s *Server) serve(c *call) error {
	if s.cfg.SQS != nil && isSQSRequest(c.r) {
		s.serveSQS(c) // writes its own response or error
		return nil
	}
	if s.cfg.IAM != nil {
		switch {
		case c.r.URL.Path == "/":
			return s.serveRoot(c)
		case strings.HasPrefix(c.r.URL.Path, adminPrefix):
			return s.serveAdmin(c)
		}
	}
	rt, r := s.matchRoute(c.r)
	c.r = r
	if rt == nil {
		return awserr.New(awserr.UnknownOperation, "Unknown operation %s %s", c.r.Method, truncate(c.r.URL.Path, 128))
	}
	c.route = rt
	if err := s.authenticate(c, "lambda"); err != nil {
		return err
	}
	arn, account, err := rt.resource(c)
	if err != nil {
		return err
	}
	c.resource, c.account = arn, account
	if err := s.authorize(c, nil); err != nil {
		return err
	}
	return rt.handle(c)
}

// authorize asks the Authorizer whether c's caller may perform its route's
// action on c.resource, with the route's condition keys (overridden by
// extra, for a handler that must check a second state of the resource).
func (s *Server) authorize(c *call, extra map[string][]string) error {
	conditions := map[string][]string{"aws:RequestedRegion": {s.cfg.Region}}
	for k, v := range c.conditions {
		conditions[k] = v
	}
	for k, v := range extra {
		conditions[k] = v
	}
	return s.cfg.Authorizer.Authorize(c.ctx, iam.Request{
		Caller: c.caller, Action: c.route.action, Resource: c.resource, ResourceAccount: c.account,
		SourceIP: sourceIP(c.r), SecureTransport: c.r.TLS != nil,
		Context: conditions, ResourcePolicy: c.resourcePolicy,
	})
}

// authenticate verifies the request's SigV4 signature, reading the body
// within the route's limit, and sets c.caller.
func (s *Server) authenticate(c *call, service string) error {
	a, err := sigv4.Parse(c.r)
	if err != nil {
		return authError(err)
	}
	if a.Service != service {
		return awserr.New(awserr.InvalidSignature, "Credential should be scoped to correct service: '%s'. ", service)
	}
	if a.Region != s.cfg.Region {
		return awserr.New(awserr.InvalidSignature, "Credential should be scoped to a valid region. ")
	}
	return s.verify(c, a, "The security token included in the request is invalid.")
}

// verify looks up the key a parsed request was signed with, checks its
// session token (temporary credentials carry one, long-term keys none),
// reads the body within the route's limit, verifies the signature and
// sets c.caller. invalidToken is the service's wording for an unknown key
// or a wrong token.
func (s *Server) verify(c *call, a *sigv4.Auth, invalidToken string) error {
	key, err := s.cfg.Keys.LookupKey(c.ctx, a.AccessKeyID)
	if err != nil {
		if errors.Is(err, iam.ErrUnknownKey) || errors.Is(err, iam.ErrInactiveKey) {
			return awserr.New(awserr.UnrecognizedClient, "%s", invalidToken)
		}
		return err
	}
	if err := key.VerifySessionToken(a.SessionToken, s.cfg.Now()); err != nil {
		if errors.Is(err, iam.ErrExpiredToken) {
			return awserr.New(awserr.ExpiredToken, "The security token included in the request is expired")
		}
		return awserr.New(awserr.UnrecognizedClient, "%s", invalidToken)
	}
	limit := c.route.maxBody
	if limit == 0 {
		limit = 1 << 20
	}
	if c.r.ContentLength > limit {
		return s.tooLarge(c, limit)
	}
	body, err := io.ReadAll(io.LimitReader(c.r.Body, limit+1))
	if err != nil {
		return awserr.Wrap(awserr.InvalidRequestContent, err, "Could not read the request body.")
	}
	if int64(len(body)) > limit {
		return s.tooLarge(c, limit)
	}
	c.body = body
	if err := s.verifier.Verify(a, c.r, body, key.Secret.Reveal(), s.cfg.Now()); err != nil {
		return authError(err)
	}
	c.caller = key.Principal
	return nil
}

func (s *Server) tooLarge(c *call, limit int64) error {
	msg := c.route.tooLarge
	if msg == "" {
		msg = "Request must be smaller than " + itoa(limit) + " bytes for the " + strings.TrimPrefix(c.route.action, "lambda:") + " operation"
	}
	return awserr.New(awserr.RequestEntityTooLarge, "%s", msg)
}

// authError maps SigV4 failures to AWS's authentication errors.
func authError(err error) error {
	msg := err.Error()
	var se *sigv4.Error
	if errors.As(err, &se) {
		msg = se.Message
	}
	switch {
	case errors.Is(err, sigv4.ErrMissingAuth):
		return awserr.New(awserr.MissingAuthenticationToken, "Missing Authentication Token")
	case errors.Is(err, sigv4.ErrIncomplete):
		return awserr.New(awserr.IncompleteSignature, "%s", msg)
	case errors.Is(err, sigv4.ErrExpired):
		return awserr.New(awserr.InvalidSignature, "%s", msg)
	case errors.Is(err, sigv4.ErrSignatureMismatch), errors.Is(err, sigv4.ErrContentHash):
		return awserr.New(awserr.InvalidSignature, "%s", msg)
	}
	return awserr.Wrap(awserr.InvalidSignature, err, "The request signature we calculated does not match the signature you provided.")
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// LogAuditor records API calls as structured log lines. It is the default
// until a tamper-evident audit trail is configured.
type LogAuditor struct{ Logger *slog.Logger }

// Record logs e at info level.
func (a LogAuditor) Record(ctx context.Context, e AuditEvent) {
	a.Logger.LogAttrs(ctx, slog.LevelInfo, "audit",
		slog.String("request_id", e.RequestID), slog.String("caller", e.Caller.ARN),
		slog.String("action", e.Action), slog.String("resource", e.Resource),
		slog.String("source_ip", e.SourceIP), slog.Int("status", e.Status),
		slog.String("error", e.ErrorType))
}
