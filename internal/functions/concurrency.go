package functions

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/cloister/cloister/internal/store"
)

// loadAccount reads an account's Lambda record (empty when none).
func (s *Service) loadAccount(ctx context.Context, account string) (*accountRecord, uint64, error) {
	var a accountRecord
	rev, err := s.accounts.GetJSON(ctx, account, &a)
	if errors.Is(err, store.ErrNotFound) {
		return &accountRecord{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return &a, rev, nil
}

// setReserved sets (n != nil) or clears a function's reservation, checking
// the account's unreserved floor, atomically across the account.
func (s *Service) setReserved(ctx context.Context, account, name string, n *int) error {
	for attempt := 0; ; attempt++ {
		a, rev, err := s.loadAccount(ctx, account)
		if err != nil {
			return err
		}
		if n == nil {
			if _, ok := a.Reserved[name]; !ok {
				return nil
			}
			delete(a.Reserved, name)
		} else {
			total := *n
			for fn, r := range a.Reserved {
				if fn != name {
					total += r
				}
			}
			if s.cfg.ConcurrencyLimit-total < MinUnreserved {
				return invalidParam("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", MinUnreserved)
			}
			if a.Reserved == nil {
				a.Reserved = map[string]int{}
			}
			a.Reserved[name] = *n
		}
		data, merr := json.Marshal(a)
		if merr != nil {
			return merr
		}
		var nrev uint64
		if rev == 0 {
			nrev, err = s.accounts.Create(ctx, account, data)
		} else {
			nrev, err = s.accounts.Update(ctx, account, data, rev)
		}
		if err == nil {
			if s.acctMirror != nil {
				s.acctMirror.Note(account, data, nrev)
			}
			return nil
		}
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrExists) || attempt >= 20 {
			return err
		}
	}
}

// reservedFor returns a function's reservation, or nil.
func (s *Service) reservedFor(ctx context.Context, account, name string) (*int, error) {
	a, _, err := s.loadAccount(ctx, account)
	if err != nil {
		return nil, err
	}
	if n, ok := a.Reserved[name]; ok {
		return &n, nil
	}
	return nil, nil
}

// PutConcurrency is PutFunctionConcurrency.
func (s *Service) PutConcurrency(ctx context.Context, r Ref, n *int) (int, error) {
	if n == nil {
		return 0, validationError(constraint(nil, "reservedConcurrentExecutions", "Member must not be null"))
	}
	if *n < 0 {
		return 0, validationError(constraint(*n, "reservedConcurrentExecutions", "Member must have value greater than or equal to 0"))
	}
	if r.Qualifier != "" {
		return 0, invalidParam("Unsupported function name format: %s:%s. Reserved concurrency applies to the whole function.", r.Name, r.Qualifier)
	}
	if _, _, err := s.load(ctx, r); err != nil {
		return 0, err
	}
	if err := s.setReserved(ctx, r.Account, r.Name, n); err != nil {
		return 0, err
	}
	s.changed(r.Account, r.Name, false)
	return *n, nil
}

// GetConcurrency is GetFunctionConcurrency.
func (s *Service) GetConcurrency(ctx context.Context, r Ref) (*int, error) {
	if r.Qualifier != "" {
		return nil, invalidParam("Unsupported function name format: %s:%s.", r.Name, r.Qualifier)
	}
	if _, _, err := s.load(ctx, r); err != nil {
		return nil, err
	}
	return s.reservedFor(ctx, r.Account, r.Name)
}

// DeleteConcurrency is DeleteFunctionConcurrency.
func (s *Service) DeleteConcurrency(ctx context.Context, r Ref) error {
	if r.Qualifier != "" {
		return invalidParam("Unsupported function name format: %s:%s.", r.Name, r.Qualifier)
	}
	if _, _, err := s.load(ctx, r); err != nil {
		return err
	}
	if err := s.setReserved(ctx, r.Account, r.Name, nil); err != nil {
		return err
	}
	s.changed(r.Account, r.Name, false)
	return nil
}

// ConcurrencyLimits returns the account's limit and the capacity left for
// functions without a reservation.
func (s *Service) ConcurrencyLimits(ctx context.Context, account string) (limit, unreserved int, err error) {
	a, _, err := s.loadAccount(ctx, account)
	if err != nil {
		return 0, 0, err
	}
	total := 0
	for _, r := range a.Reserved {
		total += r
	}
	return s.cfg.ConcurrencyLimit, s.cfg.ConcurrencyLimit - total, nil
}

// usage sums the account's code storage from the in-memory mirror (it
// runs on every code upload).
func (s *Service) usage(ctx context.Context, account string) (AccountUsage, error) {
	var u AccountUsage
	names, err := s.names(ctx, account)
	if err != nil {
		return u, err
	}
	for _, name := range names {
		rec, err := s.cachedRecord(ctx, Ref{Account: account, Name: name})
		if err != nil {
			continue // deleted meanwhile
		}
		u.FunctionCount++
		u.TotalCodeSize += rec.Latest.CodeSize + rec.VersionsCodeSize
	}
	return u, nil
}

// AccountSettings is GetAccountSettings.
func (s *Service) AccountSettings(ctx context.Context, account string) (*AccountSettings, error) {
	limit, unreserved, err := s.ConcurrencyLimits(ctx, account)
	if err != nil {
		return nil, err
	}
	u, err := s.usage(ctx, account)
	if err != nil {
		return nil, err
	}
	return &AccountSettings{
		AccountLimit: AccountLimit{
			TotalCodeSize:                  MaxTotalCodeSize,
			CodeSizeUnzipped:               MaxUnzippedSize,
			CodeSizeZipped:                 MaxZippedSize,
			ConcurrentExecutions:           limit,
			UnreservedConcurrentExecutions: unreserved,
		},
		AccountUsage: u,
	}, nil
}

// cachedReserved is reservedFor from the account mirror (invoke path).
func (s *Service) cachedReserved(account, name string) *int {
	if s.acctMirror == nil {
		n, _ := s.reservedFor(context.Background(), account, name)
		return n
	}
	e, ok := s.acctMirror.Get(account)
	if !ok {
		return nil
	}
	var a accountRecord
	if json.Unmarshal(e.Value, &a) != nil {
		return nil
	}
	if n, ok := a.Reserved[name]; ok {
		return &n
	}
	return nil
}

// CachedLimits is ConcurrencyLimits from the account mirror (invoke path).
func (s *Service) CachedLimits(account string) (limit, unreserved int) {
	limit = s.cfg.ConcurrencyLimit
	if s.acctMirror == nil {
		return limit, limit
	}
	e, ok := s.acctMirror.Get(account)
	if !ok {
		return limit, limit
	}
	var a accountRecord
	if json.Unmarshal(e.Value, &a) != nil {
		return limit, limit
	}
	total := 0
	for _, r := range a.Reserved {
		total += r
	}
	return limit, limit - total
}
