package invoke

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister/cloister/internal/arn"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/codezip"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/logs"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/sandbox"
)

// Config configures the data plane.
type Config struct {
	Region     string
	Sandboxes  *sandbox.Manager
	Functions  *functions.Service
	Runtimes   *runtimes.Catalog
	RuntimeDir string // installed runtime clients, mounted at /var/runtime
	CodeDir    string // cache of unpacked code packages, one directory per hash
	Logs       *logs.Store
	// IdleTimeout reaps environments idle this long (default 10 minutes).
	IdleTimeout time.Duration
	// MaxLifetime retires environments this old, between invocations
	// (default 4 hours).
	MaxLifetime time.Duration
	// MemoryBudgetMB caps the sum of MemorySize over live environments
	// (default: 80% of the host's memory).
	MemoryBudgetMB int
	// Credentials issues execution-role credentials for environments.
	Credentials Issuer
	Logger      *slog.Logger
}

// Service runs invocations.
type Service struct {
	cfg       Config
	log       *slog.Logger
	sandboxes *sandbox.Manager
	admission *admission
	place     *placement

	mu       sync.Mutex
	pools    map[envKey]*pool
	usedMB   int
	closed   bool
	codeLock sync.Map // code cache key -> *sync.Mutex (cached)
	optDirs  sync.Map // account and layer ARNs -> merged /opt directory (layers.go)
	// retiredAt records when a function's environments were retired
	// (key account/name for all versions, account/name/$LATEST for
	// $LATEST); busy environments created before then are destroyed on
	// release instead of returning to their pool.
	retiredAt map[string]time.Time

	prov  *provisioner
	creds credCache
	api   atomic.Pointer[http.Handler]

	stop chan struct{}
	wg   sync.WaitGroup
}

// pool holds one envKey's idle environments, most recently used last.
type pool struct {
	idle []*env
}

// New builds the data plane and starts its reaper.
func New(cfg Config) (*Service, error) {
	if cfg.Sandboxes == nil || cfg.Functions == nil || cfg.Runtimes == nil || cfg.Logs == nil {
		return nil, errors.New("invoke: sandboxes, functions, runtimes and logs are required")
	}
	if cfg.CodeDir == "" || cfg.RuntimeDir == "" {
		return nil, errors.New("invoke: code and runtime directories are required")
	}
	if cfg.Credentials == nil {
		return nil, errors.New("invoke: an issuer of execution-role credentials is required")
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = 4 * time.Hour
	}
	if cfg.MemoryBudgetMB <= 0 {
		cfg.MemoryBudgetMB = hostMemoryMB() * 8 / 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.CodeDir, 0o755); err != nil {
		return nil, fmt.Errorf("invoke: code cache: %w", err)
	}
	s := &Service{
		cfg: cfg, log: cfg.Logger.With("component", "invoke"), sandboxes: cfg.Sandboxes,
		admission: newAdmission(), place: newPlacement(), pools: map[envKey]*pool{}, stop: make(chan struct{}),
		retiredAt: map[string]time.Time{}, prov: newProvisioner(),
	}
	s.wg.Go(s.reapLoop)
	s.wg.Go(s.provisionLoop)
	return s, nil
}

// Environments is the number of live environments of a function (all
// versions), busy or idle: for tests and metrics.
func (s *Service) Environments(account, name string) (idle int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, p := range s.pools {
		if k.account == account && k.function == name {
			idle += len(p.idle)
		}
	}
	return idle
}

// Close destroys every environment and stops the reaper.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	var all []*env
	for _, p := range s.pools {
		all = append(all, p.idle...)
		p.idle = nil
	}
	s.mu.Unlock()
	close(s.stop)
	for _, e := range all {
		e.destroy()
	}
	s.wg.Wait()
}

// PrepareCode unpacks a code package into the cache ahead of its first
// invocation (the functions service calls it when code changes).
func (s *Service) PrepareCode(ctx context.Context, hash string, zip []byte) error {
	_, err := s.ensureCode(ctx, hash, zip)
	return err
}

// ensureCode returns the cache directory holding the package with this hash,
// unpacking it first if needed.
func (s *Service) ensureCode(ctx context.Context, hash string, zip []byte) (string, error) {
	return s.cached(hash, func(dir string) error {
		if zip == nil {
			var err error
			if zip, err = s.cfg.Functions.Code(ctx, hash); err != nil {
				return fmt.Errorf("invoke: fetch code %s: %w", hash, err)
			}
		}
		if err := codezip.Extract(zip, dir, codezip.DefaultLimits()); err != nil {
			return fmt.Errorf("invoke: unpack code %s: %w", hash, err)
		}
		return nil
	})
}

// cached returns the code cache's directory named key, made first by build
// (under a lock per key, so once) if it does not exist yet. build must
// create the directory whole or not at all.
func (s *Service) cached(key string, build func(dir string) error) (string, error) {
	dir := filepath.Join(s.cfg.CodeDir, key)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	l, _ := s.codeLock.LoadOrStore(key, &sync.Mutex{})
	mu := l.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := build(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// Retire stops the environments of a function's $LATEST (or of all its
// versions when the function was deleted): idle ones now, busy ones when
// their invocation ends.
func (s *Service) Retire(account, name string, all bool) {
	var doomed []*env
	s.mu.Lock()
	scope := account + "/" + name + "/" + functions.LatestVersion
	if all {
		scope = account + "/" + name
	}
	s.retiredAt[scope] = time.Now()
	for k, p := range s.pools {
		if k.account != account || k.function != name || (!all && k.version != functions.LatestVersion) {
			continue
		}
		doomed = append(doomed, p.idle...)
		p.idle = nil
	}
	s.mu.Unlock()
	for _, e := range doomed {
		s.discard(e)
	}
	s.KickProvisioner()
}

// retiredLocked reports whether e was retired while busy. s.mu is held.
func (s *Service) retiredLocked(e *env) bool {
	if t, ok := s.retiredAt[e.key.account+"/"+e.key.function]; ok && !e.created.After(t) {
		return true
	}
	if e.key.version == functions.LatestVersion {
		if t, ok := s.retiredAt[e.key.account+"/"+e.key.function+"/"+functions.LatestVersion]; ok && !e.created.After(t) {
			return true
		}
	}
	return false
}

// keyFor derives the pool key: anything that changes how the function runs
// changes the fingerprint, so stale environments are never reused.
func keyFor(fn *functions.Function) envKey {
	c := &fn.Config
	// Length-prefixed parts: distinct configurations never share a
	// fingerprint.
	b := make([]byte, 0, 256)
	for _, p := range [...]string{fn.CodeHash, c.Runtime, c.Handler, c.Role, c.LoggingConfig.LogFormat,
		c.LoggingConfig.ApplicationLogLevel, c.LoggingConfig.SystemLogLevel, c.LoggingConfig.LogGroup,
		c.TracingConfig.Mode} {
		b = appendPart(b, p)
	}
	for _, n := range [...]int{c.MemorySize, c.Timeout, c.EphemeralStorage.Size, len(c.Architectures)} {
		b = binary.AppendVarint(b, int64(n))
	}
	for _, a := range c.Architectures {
		b = appendPart(b, a)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Layers)))
	for _, l := range c.Layers {
		b = appendPart(b, l.Arn)
	}
	if c.Environment != nil && len(c.Environment.Variables) > 0 {
		vars := c.Environment.Variables
		b = binary.AppendUvarint(b, uint64(len(vars)))
		for _, k := range sortedKeys(vars) {
			b = appendPart(appendPart(b, k), vars[k])
		}
	} else {
		b = binary.AppendUvarint(b, 0)
	}
	return envKey{
		account: arn.Account(c.FunctionArn), function: c.FunctionName, version: c.Version,
		incarnation: fn.Incarnation, fingerprint: string(b),
	}
}

func appendPart(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// acquire returns an idle environment for key, or starts a new one.
func (s *Service) acquire(ctx context.Context, key envKey, fn *functions.Function, requestID string) (*env, bool, error) {
	var stale []*env
	defer func() {
		for _, e := range stale {
			s.discard(e)
		}
	}()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, awserr.New(awserr.ServiceUnavailable, "The server is shutting down.")
	}
	if p := s.pools[key]; p != nil {
		// Provisioned environments first, then the most recently used.
		for i := len(p.idle) - 1; i >= 0; i-- {
			if e := p.idle[i]; e.provisioned.Load() && e.usable(s.cfg.MaxLifetime) {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				s.mu.Unlock()
				return e, false, nil
			}
		}
		// The most recently used environment on a CPU that runs no other
		// invocation, else the most recently used (see placement).
		for len(p.idle) > 0 {
			i := len(p.idle) - 1
			for j := i; j >= 0; j-- {
				if s.place.quiet(&p.idle[j].cpu) {
					i = j
					break
				}
			}
			e := p.idle[i]
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			if e.usable(s.cfg.MaxLifetime) {
				s.mu.Unlock()
				return e, false, nil
			}
			stale = append(stale, e)
		}
	}
	mem := fn.Config.MemorySize
	victims := s.makeRoom(mem)
	stale = append(stale, victims...)
	if s.usedMB+mem > s.cfg.MemoryBudgetMB {
		s.mu.Unlock()
		return nil, false, throttled(reasonAccount)
	}
	s.usedMB += mem
	s.mu.Unlock()
	e, err := s.start(ctx, key, fn, requestID)
	if err != nil {
		s.mu.Lock()
		s.usedMB -= mem
		s.mu.Unlock()
		return nil, true, err
	}
	return e, true, nil
}

// makeRoom removes least recently used idle environments of any function
// until mem more MB fit in the budget (or nothing idle is left). Called
// with s.mu held; the caller destroys the returned environments.
func (s *Service) makeRoom(mem int) []*env {
	if s.usedMB+mem <= s.cfg.MemoryBudgetMB {
		return nil
	}
	type cand struct {
		p *pool
		e *env
	}
	var all []cand
	for _, p := range s.pools {
		for _, e := range p.idle {
			if !e.provisioned.Load() {
				all = append(all, cand{p, e})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].e.lastUsed.Before(all[j].e.lastUsed) })
	var out []*env
	for _, c := range all {
		if s.usedMB+mem <= s.cfg.MemoryBudgetMB {
			break
		}
		for i, e := range c.p.idle {
			if e == c.e {
				c.p.idle = append(c.p.idle[:i], c.p.idle[i+1:]...)
				break
			}
		}
		s.unaccountLocked(c.e)
		c.e.retired.Store(true)
		out = append(out, c.e)
	}
	return out
}

// usable reports whether an idle environment may take another invocation.
func (e *env) usable(maxLifetime time.Duration) bool {
	if e.retired.Load() || time.Since(e.created) > maxLifetime {
		return false
	}
	if !e.credsExpire.IsZero() && time.Until(e.credsExpire) < 2*time.Minute {
		return false // retire before the function's credentials expire
	}
	select {
	case <-e.sb.Done():
		return false
	default:
		return true
	}
}

// release returns an environment to its pool after an invocation, or
// destroys it if it should not run again.
func (s *Service) release(e *env, reuse bool) {
	s.mu.Lock()
	if !reuse || s.closed || !e.usable(s.cfg.MaxLifetime) || s.retiredLocked(e) {
		s.unaccountLocked(e)
		s.mu.Unlock()
		e.destroy()
		return
	}
	p := s.pools[e.key]
	if p == nil {
		p = &pool{}
		s.pools[e.key] = p
	}
	e.lastUsed = time.Now()
	p.idle = append(p.idle, e)
	s.mu.Unlock()
}

// unaccountLocked returns an environment's memory to the budget, once.
// s.mu is held.
func (s *Service) unaccountLocked(e *env) {
	if e.unaccounted.CompareAndSwap(false, true) {
		s.usedMB -= e.cfg.MemorySize
	}
}

// discard destroys an environment that was taken out of its pool.
func (s *Service) discard(e *env) {
	s.mu.Lock()
	s.unaccountLocked(e)
	s.mu.Unlock()
	e.destroy()
}

func (s *Service) reapLoop() {
	// Check often enough that an idle or expired environment outlives its
	// limit by at most a quarter of it (and by at most 15 s).
	every := min(15*time.Second, s.cfg.IdleTimeout/4, s.cfg.MaxLifetime/4)
	every = max(every, 50*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		var doomed []*env
		s.mu.Lock()
		for k, p := range s.pools {
			keep := p.idle[:0]
			for _, e := range p.idle {
				idle := time.Since(e.lastUsed) > s.cfg.IdleTimeout && !e.provisioned.Load()
				if idle || !e.usable(s.cfg.MaxLifetime) {
					doomed = append(doomed, e)
				} else {
					keep = append(keep, e)
				}
			}
			p.idle = keep
			// Empty pools are dropped; release recreates a pool for a
			// busy environment whose pool is gone.
			if len(p.idle) == 0 {
				delete(s.pools, k)
			}
		}
		s.mu.Unlock()
		for _, e := range doomed {
			s.discard(e)
		}
	}
}

// spec builds the sandbox specification for a function's environment and
// says when its credentials expire.
func (s *Service) spec(ctx context.Context, fn *functions.Function, provisioned bool) (sandbox.Spec, time.Time, error) {
	c := fn.Config
	rt, ok := s.cfg.Runtimes.Lookup(c.Runtime)
	if !ok {
		return sandbox.Spec{}, time.Time{}, awserr.New(awserr.InvalidRuntime, "The runtime %s is not available on this server.", c.Runtime)
	}
	taskDir, err := s.ensureCode(ctx, fn.CodeHash, nil)
	if err != nil {
		return sandbox.Spec{}, time.Time{}, err
	}
	optDir, err := s.ensureOpt(ctx, arn.Account(c.FunctionArn), c.Layers)
	if err != nil {
		return sandbox.Spec{}, time.Time{}, err
	}
	args := rt.Command
	if rt.Family == runtimes.FamilyProvided {
		// The function's own bootstrap, else a layer's (a custom runtime
		// shipped as a layer), as in Lambda.
		executable := func(dir string) bool {
			fi, err := os.Stat(filepath.Join(dir, "bootstrap"))
			return dir != "" && err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
		}
		switch {
		case executable(taskDir):
			args = []string{runtimes.TaskRoot + "/bootstrap"}
		case executable(optDir):
			args = []string{runtimes.OptDir + "/bootstrap"}
		default:
			return sandbox.Spec{}, time.Time{}, &initFailure{errorType: "Runtime.InvalidEntrypoint",
				payload: errorPayload("Runtime.InvalidEntrypoint", "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]")}
		}
	}
	env := []string{
		"AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001",
		"_HANDLER=" + c.Handler,
		"LAMBDA_TASK_ROOT=" + runtimes.TaskRoot,
		"LAMBDA_RUNTIME_DIR=" + runtimes.RuntimeDir,
		"AWS_LAMBDA_FUNCTION_NAME=" + c.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION=" + c.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(c.MemorySize),
		"AWS_LAMBDA_LOG_GROUP_NAME=" + c.LoggingConfig.LogGroup,
		"AWS_REGION=" + s.cfg.Region,
		"AWS_DEFAULT_REGION=" + s.cfg.Region,
		"AWS_LAMBDA_INITIALIZATION_TYPE=" + initType(provisioned),
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
	}
	env = append(env, rt.Env...) // AWS_EXECUTION_ENV, NODE_PATH, ...
	creds, err := s.credentials(ctx, fn)
	if err != nil {
		return sandbox.Spec{}, time.Time{}, err
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey.Reveal(),
		"AWS_SESSION_TOKEN="+creds.SessionToken.Reveal(),
		"AWS_ENDPOINT_URL=http://"+apiAddr,
	)
	if c.Environment != nil {
		for _, k := range sortedKeys(c.Environment.Variables) {
			env = append(env, k+"="+c.Environment.Variables[k])
		}
	}
	return sandbox.Spec{
		Args:       args,
		Env:        env,
		TaskDir:    taskDir,
		OptDir:     optDir,
		RuntimeDir: s.cfg.RuntimeDir,
		MemoryMB:   c.MemorySize,
		TmpMB:      c.EphemeralStorage.Size,
		Listen:     []string{"127.0.0.1:9001", apiAddr},
	}, creds.Expiration, nil
}

func initType(provisioned bool) string {
	if provisioned {
		return "provisioned-concurrency"
	}
	return "on-demand"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
