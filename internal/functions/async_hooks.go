package functions

import "context"

// EventInvokeFor returns the FunctionEventInvokeConfig that governs an
// asynchronous invocation of r (its qualifier's; $LATEST's when r is
// unqualified), or nil when there is none. It reads the in-memory mirror,
// for the asynchronous dispatcher's hot path. The result is shared: callers
// must not modify it.
func (s *Service) EventInvokeFor(ctx context.Context, r Ref) (*EventInvokeConfig, error) {
	rec, err := s.cachedRecord(ctx, r)
	if err != nil {
		return nil, err
	}
	return rec.EventInvoke[eventInvokeKey(r.Qualifier)], nil
}
