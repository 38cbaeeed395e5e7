package functions

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/awserr"
)

// enqueuePrepare asks the worker to finish a function's pending creation or
// update. It never blocks: if the queue is full, the startup scan after the
// next restart, or a later change, picks the function up.
func (s *Service) enqueuePrepare(key string) {
	select {
	case s.prepareQ <- key:
	default:
		s.log.Warn("prepare queue full", "function", key)
	}
}

func (s *Service) prepareLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case key := <-s.prepareQ:
			if err := s.finishPending(ctx, key); err != nil && ctx.Err() == nil {
				s.log.Error("finish pending change", "function", key, "err", err)
				// Try again shortly: a store hiccup must not strand a
				// function in Pending.
				go func() {
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
						s.enqueuePrepare(key)
					}
				}()
			}
		}
	}
}

// finishPending readies the code of a function whose $LATEST is Pending or
// InProgress and moves it to Active/Successful (or Failed).
func (s *Service) finishPending(ctx context.Context, key string) error {
	account, name, ok := strings.Cut(key, ".")
	if !ok {
		return nil
	}
	r := Ref{Account: account, Name: name}
	rec, _, err := s.load(ctx, r)
	if awserr.IsType(err, awserr.ResourceNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.Latest.State != StatePending && rec.Latest.LastUpdateStatus != UpdateInProcess {
		return s.activateVersions(ctx, rec, r)
	}
	revision, hash := rec.Latest.RevisionId, rec.CodeHash
	var prepErr error
	if s.cfg.Prepare != nil {
		zip, err := s.Code(ctx, hash)
		if err != nil && !awserr.IsType(err, awserr.ResourceNotFound) {
			return err
		}
		if err == nil {
			prepErr = s.cfg.Prepare(ctx, hash, zip)
		} else {
			prepErr = errors.New("the deployment package is missing from the store")
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if prepErr == nil && s.cfg.PrepareLayers != nil && len(rec.Latest.Layers) > 0 {
		prepErr = s.cfg.PrepareLayers(ctx, rec.Account, rec.Latest.Layers)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if prepErr == nil && s.cfg.Ready != nil {
		// Before the function is seen Active, so that its first
		// invocation finds the role's credentials issued.
		s.cfg.Ready(ctx, rec.Latest)
	}
	rec, err = s.mutate(ctx, r, func(rec *functionRecord) error {
		if rec.Latest.RevisionId != revision {
			return errRetry // changed meanwhile: its own queue entry handles it
		}
		creating := rec.Latest.State == StatePending
		rec.Latest.RevisionId = newID()
		rec.Latest.StateReason, rec.Latest.StateReasonCode = "", ""
		rec.Latest.LastUpdateStatusReason, rec.Latest.LastUpdateStatusReasonCode = "", ""
		if prepErr != nil {
			msg := "Cloister could not prepare the function's code: " + prepErr.Error()
			if creating {
				rec.Latest.State, rec.Latest.StateReason, rec.Latest.StateReasonCode = StateFailed, msg, "InternalError"
			}
			rec.Latest.LastUpdateStatus = UpdateFailed
			rec.Latest.LastUpdateStatusReason, rec.Latest.LastUpdateStatusReasonCode = msg, "InternalError"
			return nil
		}
		rec.Latest.State = StateActive
		rec.Latest.LastUpdateStatus = UpdateSucceeded
		return nil
	})
	if errors.Is(err, errRetry) {
		return nil
	}
	if err != nil {
		return err
	}
	if prepErr != nil {
		s.log.Warn("function code could not be prepared", "function", name, "err", prepErr)
	}
	return s.activateVersions(ctx, rec, r)
}

// activateVersions moves version 1 out of Pending when it was published at
// creation, following $LATEST's outcome.
func (s *Service) activateVersions(ctx context.Context, rec *functionRecord, r Ref) error {
	if rec.LastVersion < 1 || rec.Latest.State == StatePending {
		return nil
	}
	v, rev, err := s.loadVersion(ctx, rec, r, 1)
	if err != nil || v.Config.State != StatePending {
		return nil
	}
	v.Config.State = rec.Latest.State
	v.Config.StateReason, v.Config.StateReasonCode = rec.Latest.StateReason, rec.Latest.StateReasonCode
	v.Config.LastUpdateStatus = rec.Latest.LastUpdateStatus
	v.Config.RevisionId = newID()
	_, err = s.versions.UpdateJSON(ctx, versionKey(r.Account, r.Name, 1), v, rev)
	return err
}
