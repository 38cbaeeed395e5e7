package functions

import (
	"context"
	"fmt"
	"sort"

	"github.com/cloister/cloister/internal/awserr"
)

// eventInvokeKey is where a qualifier's config is kept: the unqualified
// function's is $LATEST's, as in Lambda.
func eventInvokeKey(q string) string {
	if q == "" {
		return LatestVersion
	}
	return q
}

func checkEventInvokeInput(in *EventInvokeInput) error {
	var v violations
	if n := in.MaximumRetryAttempts; n != nil && *n < 0 {
		v.add(*n, "maximumRetryAttempts", "Member must have value greater than or equal to 0")
	} else if n != nil && *n > 2 {
		v.add(*n, "maximumRetryAttempts", "Member must have value less than or equal to 2")
	}
	if n := in.MaximumEventAgeInSeconds; n != nil && *n < 60 {
		v.add(*n, "maximumEventAgeInSeconds", "Member must have value greater than or equal to 60")
	} else if n != nil && *n > 21600 {
		v.add(*n, "maximumEventAgeInSeconds", "Member must have value less than or equal to 21600")
	}
	if dc := in.DestinationConfig; dc != nil {
		for _, m := range []struct {
			name string
			d    *Destination
		}{{"onSuccess", dc.OnSuccess}, {"onFailure", dc.OnFailure}} {
			name, d := m.name, m.d
			if d != nil && (len(d.Destination) > 350 || !destARNRe.MatchString(d.Destination)) {
				v.add(d.Destination, "destinationConfig."+name+".destination", `Member must satisfy regular expression pattern: ^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`)
			}
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	if dc := in.DestinationConfig; dc != nil {
		for _, d := range []*Destination{dc.OnSuccess, dc.OnFailure} {
			if d != nil && d.Destination != "" {
				if err := checkTargetARN(d.Destination, "destination"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *Service) noEventInvoke(arn string) *awserr.Error {
	return awserr.New(awserr.ResourceNotFound, "The function %s doesn't have an EventInvokeConfig", arn)
}

// editEventInvoke applies fn to the config of r's qualifier.
func (s *Service) editEventInvoke(ctx context.Context, r Ref, fn func(cur *EventInvokeConfig, arn string) (*EventInvokeConfig, error)) (*EventInvokeConfig, error) {
	var out *EventInvokeConfig
	_, err := s.mutate(ctx, r, func(rec *functionRecord) error {
		key := eventInvokeKey(r.Qualifier)
		if err := s.qualifierExists(ctx, rec, r); err != nil {
			return err
		}
		arn := QualifiedARN(s.cfg.Region, r.Account, r.Name, key)
		next, err := fn(rec.EventInvoke[key], arn)
		if err != nil {
			return err
		}
		if rec.EventInvoke == nil {
			rec.EventInvoke = map[string]*EventInvokeConfig{}
		}
		if next == nil {
			delete(rec.EventInvoke, key)
		} else {
			next.FunctionArn = arn
			next.LastModified = float64(s.now().UnixMilli()) / 1000
			rec.EventInvoke[key] = next
		}
		out = next
		return nil
	})
	return out, err
}

// qualifierExists checks that r's qualifier names $LATEST, a live version or
// an alias.
func (s *Service) qualifierExists(ctx context.Context, rec *functionRecord, r Ref) error {
	q := r.Qualifier
	switch {
	case q == "" || q == LatestVersion:
		return nil
	case isVersion(q):
		var n int
		fmt.Sscanf(q, "%d", &n)
		_, _, err := s.loadVersion(ctx, rec, r, n)
		return err
	}
	if _, ok := rec.Aliases[q]; !ok {
		return s.notFound(r)
	}
	return nil
}

// PutEventInvoke is PutFunctionEventInvokeConfig (replaces everything).
func (s *Service) PutEventInvoke(ctx context.Context, r Ref, in *EventInvokeInput) (*EventInvokeConfig, error) {
	if err := checkEventInvokeInput(in); err != nil {
		return nil, err
	}
	return s.editEventInvoke(ctx, r, func(_ *EventInvokeConfig, _ string) (*EventInvokeConfig, error) {
		return &EventInvokeConfig{
			MaximumRetryAttempts:     in.MaximumRetryAttempts,
			MaximumEventAgeInSeconds: in.MaximumEventAgeInSeconds,
			DestinationConfig:        normalizeDestinations(in.DestinationConfig),
		}, nil
	})
}

// UpdateEventInvoke is UpdateFunctionEventInvokeConfig (merges).
func (s *Service) UpdateEventInvoke(ctx context.Context, r Ref, in *EventInvokeInput) (*EventInvokeConfig, error) {
	if err := checkEventInvokeInput(in); err != nil {
		return nil, err
	}
	return s.editEventInvoke(ctx, r, func(cur *EventInvokeConfig, arn string) (*EventInvokeConfig, error) {
		next := &EventInvokeConfig{}
		if cur != nil {
			*next = *cur
		}
		if in.MaximumRetryAttempts != nil {
			next.MaximumRetryAttempts = in.MaximumRetryAttempts
		}
		if in.MaximumEventAgeInSeconds != nil {
			next.MaximumEventAgeInSeconds = in.MaximumEventAgeInSeconds
		}
		if dc := in.DestinationConfig; dc != nil {
			merged := &DestinationConfig{}
			if next.DestinationConfig != nil {
				*merged = *next.DestinationConfig
			}
			if dc.OnSuccess != nil {
				merged.OnSuccess = dc.OnSuccess
			}
			if dc.OnFailure != nil {
				merged.OnFailure = dc.OnFailure
			}
			next.DestinationConfig = normalizeDestinations(merged)
		}
		return next, nil
	})
}

func normalizeDestinations(dc *DestinationConfig) *DestinationConfig {
	if dc == nil {
		return nil
	}
	out := &DestinationConfig{}
	if dc.OnSuccess != nil && dc.OnSuccess.Destination != "" {
		out.OnSuccess = dc.OnSuccess
	}
	if dc.OnFailure != nil && dc.OnFailure.Destination != "" {
		out.OnFailure = dc.OnFailure
	}
	if out.OnSuccess == nil && out.OnFailure == nil {
		return nil
	}
	return out
}

// GetEventInvoke is GetFunctionEventInvokeConfig.
func (s *Service) GetEventInvoke(ctx context.Context, r Ref) (*EventInvokeConfig, error) {
	rec, _, err := s.load(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := s.qualifierExists(ctx, rec, r); err != nil {
		return nil, err
	}
	key := eventInvokeKey(r.Qualifier)
	c, ok := rec.EventInvoke[key]
	if !ok {
		return nil, s.noEventInvoke(QualifiedARN(s.cfg.Region, r.Account, r.Name, key))
	}
	return c, nil
}

// DeleteEventInvoke is DeleteFunctionEventInvokeConfig.
func (s *Service) DeleteEventInvoke(ctx context.Context, r Ref) error {
	_, err := s.editEventInvoke(ctx, r, func(cur *EventInvokeConfig, arn string) (*EventInvokeConfig, error) {
		if cur == nil {
			return nil, s.noEventInvoke(arn)
		}
		return nil, nil
	})
	return err
}

// ListEventInvoke is ListFunctionEventInvokeConfigs.
func (s *Service) ListEventInvoke(ctx context.Context, r Ref, marker string, maxItems int) ([]EventInvokeConfig, string, error) {
	after, err := decodeMarker(marker)
	if err != nil {
		return nil, "", err
	}
	rec, _, err := s.load(ctx, r)
	if err != nil {
		return nil, "", err
	}
	keys := make([]string, 0, len(rec.EventInvoke))
	for k := range rec.EventInvoke {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []EventInvokeConfig
	last := ""
	for _, k := range keys {
		if after.name != "" && k <= after.name {
			continue
		}
		if len(out) == maxItems {
			return out, encodeMarker(listMarker{name: last}), nil
		}
		out = append(out, *rec.EventInvoke[k])
		last = k
	}
	return out, "", nil
}
