package invoke

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
)

// The provisioner keeps each provisioned-concurrency configuration's
// environments initialized ahead of time (with
// AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency). They live in the
// same pools as on-demand environments, marked provisioned: invocations take
// them first, the reaper never reaps them for idleness, and when one retires
// or dies the next pass replaces it. Counts are per node.

// provisionKey names one configuration.
type provisionKey struct{ account, function, qualifier string }

// provisionState is the provisioner's view of one configuration.
type provisionState struct {
	key      envKey // the pool its environments live in
	envs     map[*env]bool
	failures int
	reason   string
}

// provisioner owns the provisioned environments.
type provisioner struct {
	mu     sync.Mutex
	states map[provisionKey]*provisionState
	kick   chan struct{}
}

func newProvisioner() *provisioner {
	return &provisioner{states: map[provisionKey]*provisionState{}, kick: make(chan struct{}, 1)}
}

// Provisioned reports how many environments of a configuration are ready on
// this node, and why it failed if it did (functions.Config.ProvisionedState).
func (s *Service) Provisioned(account, name, qualifier string, requested int) (int, string) {
	p := s.prov
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.states[provisionKey{account, name, qualifier}]
	if st == nil {
		return 0, ""
	}
	n := 0
	for e := range st.envs {
		if e.usable(s.cfg.MaxLifetime) {
			n++
		}
	}
	return n, st.reason
}

// KickProvisioner asks for a reconciliation pass soon (a configuration
// changed).
func (s *Service) KickProvisioner() {
	select {
	case s.prov.kick <- struct{}{}:
	default:
	}
}

func (s *Service) provisionLoop() {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-s.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		if err := s.reconcile(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("provisioned concurrency", "err", err)
		}
		cancel()
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.prov.kick:
		}
	}
}

// reconcile makes the provisioned environments match the configurations.
func (s *Service) reconcile(ctx context.Context) error {
	cfgs, err := s.cfg.Functions.ProvisionedAll(ctx)
	if err != nil {
		return err
	}
	want := map[provisionKey]functions.Provisioned{}
	for _, c := range cfgs {
		want[provisionKey{c.Account, c.Function, c.Qualifier}] = c
	}
	// Release the environments of configurations that are gone or changed
	// target (a new version behind an alias, new code): they become
	// ordinary on-demand environments, reaped when idle.
	s.prov.mu.Lock()
	for k, st := range s.prov.states {
		if _, ok := want[k]; !ok {
			s.unprovisionLocked(st, len(st.envs))
			delete(s.prov.states, k)
		}
	}
	s.prov.mu.Unlock()

	for k, c := range want {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fn, err := s.cfg.Functions.Resolve(ctx, functions.Ref{Account: c.Account, Name: c.Function, Qualifier: c.Qualifier}, nil)
		if err != nil {
			if awserr.IsType(err, awserr.ResourceNotFound) {
				continue // deleted: its configuration goes with it
			}
			return err
		}
		key := keyFor(fn)
		s.prov.mu.Lock()
		st := s.prov.states[k]
		if st == nil || st.key != key {
			if st != nil {
				s.unprovisionLocked(st, len(st.envs))
			}
			st = &provisionState{key: key, envs: map[*env]bool{}}
			s.prov.states[k] = st
		}
		for e := range st.envs {
			if !e.usable(s.cfg.MaxLifetime) {
				delete(st.envs, e)
			}
		}
		have := len(st.envs)
		if have > c.Requested {
			s.unprovisionLocked(st, have-c.Requested)
		}
		failures := st.failures
		s.prov.mu.Unlock()
		if have >= c.Requested || failures >= 3 {
			continue
		}
		for i := have; i < c.Requested && ctx.Err() == nil; i++ {
			e, err := s.startProvisioned(ctx, key, fn)
			s.prov.mu.Lock()
			if err != nil {
				st.failures++
				st.reason = "FUNCTION_ERROR_INIT_FAILURE: the function's environment failed to initialize"
				var f *initFailure
				if !errors.As(err, &f) {
					st.reason = "Cloister could not start an environment: " + err.Error()
				}
				s.prov.mu.Unlock()
				break
			}
			st.envs[e] = true
			st.failures, st.reason = 0, ""
			s.prov.mu.Unlock()
		}
	}
	return nil
}

// unprovisionLocked turns n of a configuration's environments back into
// on-demand ones. s.prov.mu is held.
func (s *Service) unprovisionLocked(st *provisionState, n int) {
	for e := range st.envs {
		if n == 0 {
			return
		}
		e.provisioned.Store(false)
		delete(st.envs, e)
		n--
	}
}

// startProvisioned starts one provisioned environment and parks it idle in
// its pool.
func (s *Service) startProvisioned(ctx context.Context, key envKey, fn *functions.Function) (*env, error) {
	mem := fn.Config.MemorySize
	s.mu.Lock()
	victims := s.makeRoom(mem)
	if s.closed || s.usedMB+mem > s.cfg.MemoryBudgetMB {
		s.mu.Unlock()
		for _, v := range victims {
			s.discard(v)
		}
		return nil, errors.New("no memory left on this node for another environment")
	}
	s.usedMB += mem
	s.mu.Unlock()
	for _, v := range victims {
		s.discard(v)
	}
	e, err := s.startWith(ctx, key, fn, "provisioned", true)
	if err != nil {
		s.mu.Lock()
		s.usedMB -= mem
		s.mu.Unlock()
		return nil, err
	}
	e.provisioned.Store(true)
	s.release(e, true)
	return e, nil
}
