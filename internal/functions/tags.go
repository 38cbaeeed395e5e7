package functions

import (
	"context"
)

// tagTarget resolves TagResource's ARN: tags belong to whole functions.
func (s *Service) tagTarget(arn string) (Ref, error) {
	r, err := ParseFunctionARN(arn, s.cfg.Region)
	if err != nil {
		return Ref{}, err
	}
	if r.Qualifier != "" {
		return Ref{}, invalidParam("Tags on function aliases and versions are not supported. Please specify a function ARN.")
	}
	return r, nil
}

// TagTarget parses a tagging ARN into the function it names (for
// authorization before the call).
func (s *Service) TagTarget(arn string) (Ref, error) { return s.tagTarget(arn) }

// Tag is TagResource.
func (s *Service) Tag(ctx context.Context, arn string, tags map[string]string) error {
	r, err := s.tagTarget(arn)
	if err != nil {
		return err
	}
	if tags == nil {
		return validationError(constraint(nil, "tags", "Member must not be null"))
	}
	if err := checkTags(tags); err != nil {
		return err
	}
	_, err = s.mutate(ctx, r, func(rec *functionRecord) error {
		merged := map[string]string{}
		for k, v := range rec.Tags {
			merged[k] = v
		}
		for k, v := range tags {
			merged[k] = v
		}
		if len(merged) > MaxTags {
			return invalidParam("Number of tags exceeds resource tag limit.")
		}
		rec.Tags = merged
		return nil
	})
	return err
}

// Untag is UntagResource.
func (s *Service) Untag(ctx context.Context, arn string, keys []string) error {
	r, err := s.tagTarget(arn)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return validationError(constraint(nil, "tagKeys", "Member must not be null"))
	}
	_, err = s.mutate(ctx, r, func(rec *functionRecord) error {
		for _, k := range keys {
			delete(rec.Tags, k)
		}
		if len(rec.Tags) == 0 {
			rec.Tags = nil
		}
		return nil
	})
	return err
}

// Tags is ListTags.
func (s *Service) Tags(ctx context.Context, arn string) (map[string]string, error) {
	r, err := s.tagTarget(arn)
	if err != nil {
		return nil, err
	}
	rec, _, err := s.load(ctx, r)
	if err != nil {
		return nil, err
	}
	if rec.Tags == nil {
		return map[string]string{}, nil
	}
	return rec.Tags, nil
}
