package functions

import (
	"context"
	"fmt"
	"sync"

	"github.com/cloister/cloister/internal/policy"
)

// parsedPolicies caches resource policies parsed for authorization, keyed by
// the document itself: a changed policy is a new key. It is bounded: when
// full it starts over.
var parsedPolicies = struct {
	sync.Mutex
	m map[string]*policy.Policy
}{m: map[string]*policy.Policy{}}

const maxParsedPolicies = 4096

// ResourcePolicy returns the resource-based policy that governs r (the
// function's own for an unqualified ARN or $LATEST, the version's or the
// alias's for a qualified one), parsed for evaluation, or nil when there is
// none. It reads the in-memory mirror: it runs on every invocation.
func (s *Service) ResourcePolicy(ctx context.Context, r Ref) (*policy.Policy, error) {
	rec, err := s.cachedRecord(ctx, r)
	if err != nil {
		return nil, err
	}
	var rp *resourcePolicy
	q := r.Qualifier
	switch {
	case q == "" || q == LatestVersion:
		rp = rec.Policy
	case isVersion(q):
		var n int
		fmt.Sscanf(q, "%d", &n)
		v, _, err := s.loadVersion(ctx, rec, r, n)
		if err != nil {
			return nil, err
		}
		rp = v.Policy
	default:
		a, ok := rec.Aliases[q]
		if !ok {
			return nil, s.notFound(r)
		}
		rp = a.Policy
	}
	if rp == nil || len(rp.Statements) == 0 {
		return nil, nil
	}
	doc := string(rp.document())
	parsedPolicies.Lock()
	p, ok := parsedPolicies.m[doc]
	parsedPolicies.Unlock()
	if ok {
		return p, nil
	}
	p, err = policy.Parse([]byte(doc), policy.Resource)
	if err != nil {
		return nil, fmt.Errorf("functions: stored policy of %s does not parse: %w", r.Name, err)
	}
	parsedPolicies.Lock()
	if len(parsedPolicies.m) >= maxParsedPolicies {
		parsedPolicies.m = map[string]*policy.Policy{}
	}
	parsedPolicies.m[doc] = p
	parsedPolicies.Unlock()
	return p, nil
}

// ResourceTags returns a function's tags for aws:ResourceTag conditions (nil
// when the function does not exist).
func (s *Service) ResourceTags(ctx context.Context, account, name string) map[string]string {
	rec, err := s.cachedRecord(ctx, Ref{Account: account, Name: name})
	if err != nil {
		return nil
	}
	return rec.Tags
}
