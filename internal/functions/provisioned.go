package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/store"
)

// provisionedBucket holds one key per provisioned-concurrency configuration,
// "<account>.<name>.<qualifier>", so the data plane can watch them all
// without reading every function.
const provisionedBucket = "lambda_provisioned"

// Provisioned is a provisioned-concurrency configuration as stored.
type Provisioned struct {
	Account      string    `json:"account"`
	Function     string    `json:"function"`
	Qualifier    string    `json:"qualifier"`
	Requested    int       `json:"requested"`
	LastModified time.Time `json:"lastModified"`
}

// ProvisionedConfig is Lambda's provisioned-concurrency configuration shape.
type ProvisionedConfig struct {
	FunctionArn                              string `json:"FunctionArn,omitempty"`
	RequestedProvisionedConcurrentExecutions int    `json:"RequestedProvisionedConcurrentExecutions"`
	AvailableProvisionedConcurrentExecutions int    `json:"AvailableProvisionedConcurrentExecutions"`
	AllocatedProvisionedConcurrentExecutions int    `json:"AllocatedProvisionedConcurrentExecutions"`
	Status                                   string `json:"Status"`
	StatusReason                             string `json:"StatusReason,omitempty"`
	LastModified                             string `json:"LastModified"`
}

// ProvisionedState reports what the data plane has made of a configuration:
// environments initialized and ready, and a failure reason if any.
type ProvisionedState func(account, name, qualifier string, requested int) (allocated int, reason string)

func provisionedKey(account, name, qualifier string) string {
	return account + "." + name + "." + qualifierKey(qualifier)
}

// qualifierKey maps a qualifier to a KV-safe token ($ is not allowed).
func qualifierKey(q string) string { return strings.ReplaceAll(q, "$", "=") }

func (s *Service) provisionedStore(ctx context.Context) (*store.Bucket, error) {
	return s.st.Bucket(ctx, provisionedBucket)
}

// provisionedTarget checks that r names a published version or an alias
// that exists, as provisioned concurrency requires.
func (s *Service) provisionedTarget(ctx context.Context, r Ref) (*functionRecord, error) {
	if r.Qualifier == "" {
		return nil, validationError(constraint(nil, "qualifier", "Member must not be null"))
	}
	if r.Qualifier == LatestVersion {
		return nil, invalidParam("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	}
	rec, _, err := s.load(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := s.qualifierExists(ctx, rec, r); err != nil {
		return nil, err
	}
	return rec, nil
}

// PutProvisioned is PutProvisionedConcurrencyConfig.
func (s *Service) PutProvisioned(ctx context.Context, r Ref, n *int) (*ProvisionedConfig, error) {
	if n == nil {
		return nil, validationError(constraint(nil, "provisionedConcurrentExecutions", "Member must not be null"))
	}
	if *n < 1 {
		return nil, validationError(constraint(*n, "provisionedConcurrentExecutions", "Member must have value greater than or equal to 1"))
	}
	rec, err := s.provisionedTarget(ctx, r)
	if err != nil {
		return nil, err
	}
	if a, ok := rec.Aliases[r.Qualifier]; ok {
		if err := s.provisionedConflict(ctx, r, a.Alias.FunctionVersion); err != nil {
			return nil, err
		}
	}
	reserved, err := s.reservedFor(ctx, r.Account, r.Name)
	if err != nil {
		return nil, err
	}
	b, err := s.provisionedStore(ctx)
	if err != nil {
		return nil, err
	}
	others, err := s.provisionedOf(ctx, r.Account, r.Name)
	if err != nil {
		return nil, err
	}
	total := *n
	for _, p := range others {
		if p.Qualifier != r.Qualifier {
			total += p.Requested
		}
	}
	if reserved != nil && total > *reserved {
		return nil, invalidParam("Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
	}
	if _, unreserved, err := s.ConcurrencyLimits(ctx, r.Account); err != nil {
		return nil, err
	} else if reserved == nil && total > unreserved-MinUnreserved {
		return nil, invalidParam("Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [%d].", unreserved)
	}
	p := Provisioned{Account: r.Account, Function: r.Name, Qualifier: r.Qualifier, Requested: *n, LastModified: s.now()}
	if _, err := b.PutJSON(ctx, provisionedKey(r.Account, r.Name, r.Qualifier), p); err != nil {
		return nil, err
	}
	s.changed(r.Account, r.Name, false)
	return s.provisionedView(p, false), nil
}

// provisionedConflict refuses provisioned concurrency on an alias whose
// version already has it directly (and vice versa), as Lambda does.
func (s *Service) provisionedConflict(ctx context.Context, r Ref, version string) error {
	ps, err := s.provisionedOf(ctx, r.Account, r.Name)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Qualifier == version {
			return awserr.New(awserr.ResourceConflict, "Version %s already has provisioned concurrency configured.", version)
		}
	}
	return nil
}

// provisionedOf lists a function's configurations.
func (s *Service) provisionedOf(ctx context.Context, account, name string) ([]Provisioned, error) {
	b, err := s.provisionedStore(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := b.Keys(ctx, account+"."+name+".*")
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	var out []Provisioned
	for _, k := range keys {
		var p Provisioned
		if _, err := b.GetJSON(ctx, k, &p); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// GetProvisioned is GetProvisionedConcurrencyConfig.
func (s *Service) GetProvisioned(ctx context.Context, r Ref) (*ProvisionedConfig, error) {
	if _, err := s.provisionedTarget(ctx, r); err != nil {
		return nil, err
	}
	b, err := s.provisionedStore(ctx)
	if err != nil {
		return nil, err
	}
	var p Provisioned
	if _, err := b.GetJSON(ctx, provisionedKey(r.Account, r.Name, r.Qualifier), &p); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, awserr.New(awserr.ProvisionedConcurrencyNotFound, "No Provisioned Concurrency Config found for this function")
		}
		return nil, err
	}
	return s.provisionedView(p, false), nil
}

// DeleteProvisioned is DeleteProvisionedConcurrencyConfig.
func (s *Service) DeleteProvisioned(ctx context.Context, r Ref) error {
	if _, err := s.provisionedTarget(ctx, r); err != nil {
		return err
	}
	b, err := s.provisionedStore(ctx)
	if err != nil {
		return err
	}
	key := provisionedKey(r.Account, r.Name, r.Qualifier)
	if _, err := b.Get(ctx, key); errors.Is(err, store.ErrNotFound) {
		return awserr.New(awserr.ProvisionedConcurrencyNotFound, "No Provisioned Concurrency Config found for this function")
	}
	if err := b.Delete(ctx, key, 0); err != nil {
		return err
	}
	s.changed(r.Account, r.Name, false)
	return nil
}

// ListProvisioned is ListProvisionedConcurrencyConfigs.
func (s *Service) ListProvisioned(ctx context.Context, r Ref, marker string, maxItems int) ([]ProvisionedConfig, string, error) {
	after, err := decodeMarker(marker)
	if err != nil {
		return nil, "", err
	}
	if _, _, err := s.load(ctx, r); err != nil {
		return nil, "", err
	}
	ps, err := s.provisionedOf(ctx, r.Account, r.Name)
	if err != nil {
		return nil, "", err
	}
	var out []ProvisionedConfig
	last := ""
	for _, p := range ps {
		if after.name != "" && p.Qualifier <= after.name {
			continue
		}
		if len(out) == maxItems {
			return out, encodeMarker(listMarker{name: last}), nil
		}
		out = append(out, *s.provisionedView(p, true))
		last = p.Qualifier
	}
	return out, "", nil
}

// provisionedView renders a configuration with the data plane's progress.
func (s *Service) provisionedView(p Provisioned, withARN bool) *ProvisionedConfig {
	allocated, reason := 0, ""
	if s.cfg.ProvisionedState != nil {
		allocated, reason = s.cfg.ProvisionedState(p.Account, p.Function, p.Qualifier, p.Requested)
	}
	v := &ProvisionedConfig{
		RequestedProvisionedConcurrentExecutions: p.Requested,
		AllocatedProvisionedConcurrentExecutions: min(allocated, p.Requested),
		AvailableProvisionedConcurrentExecutions: min(allocated, p.Requested),
		Status:                                   "IN_PROGRESS",
		LastModified:                             p.LastModified.UTC().Format("2006-01-02T15:04:05Z"),
	}
	switch {
	case reason != "":
		v.Status, v.StatusReason = "FAILED", reason
	case allocated >= p.Requested:
		v.Status = "READY"
	}
	if withARN {
		v.FunctionArn = QualifiedARN(s.cfg.Region, p.Account, p.Function, p.Qualifier)
	}
	return v
}

// ProvisionedAll lists every provisioned-concurrency configuration (the
// data plane's provisioner reads it).
func (s *Service) ProvisionedAll(ctx context.Context) ([]Provisioned, error) {
	b, err := s.provisionedStore(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := b.Keys(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]Provisioned, 0, len(keys))
	for _, k := range keys {
		e, err := b.Get(ctx, k)
		if err != nil {
			continue
		}
		var p Provisioned
		if err := json.Unmarshal(e.Value, &p); err != nil {
			return nil, fmt.Errorf("functions: decode %s: %w", k, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// dropProvisioned removes a deleted function's (or version's)
// configurations.
func (s *Service) dropProvisioned(ctx context.Context, account, name, qualifier string) {
	ps, err := s.provisionedOf(ctx, account, name)
	if err != nil {
		s.log.Warn("list provisioned concurrency of deleted function", "function", name, "err", err)
		return
	}
	b, err := s.provisionedStore(ctx)
	if err != nil {
		return
	}
	for _, p := range ps {
		if qualifier == "" || p.Qualifier == qualifier {
			_ = b.Delete(ctx, provisionedKey(account, name, p.Qualifier), 0)
		}
	}
}
