package iam

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
)

// The errors IAM returns, worded as IAM words them.

func noSuchUser(name string) error {
	return awserr.New(awserr.NoSuchEntity, "The user with name %s cannot be found.", name)
}

func noSuchGroup(name string) error {
	return awserr.New(awserr.NoSuchEntity, "The group with name %s cannot be found.", name)
}

func noSuchRole(name string) error {
	return awserr.New(awserr.NoSuchEntity, "The role with name %s cannot be found.", name)
}

func noSuchPolicy(arn string) error {
	return awserr.New(awserr.NoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
}

func concurrentModification() error {
	return awserr.New(awserr.ConcurrentModification, "The request was rejected because multiple requests to change this object were submitted simultaneously. Wait a few minutes and submit your request again.")
}

func deleteConflict(what string) error {
	return awserr.New(awserr.DeleteConflict, "Cannot delete entity, must %s first.", what)
}

func malformed(msg string) error {
	return awserr.New(awserr.MalformedPolicyDocument, "%s", msg)
}

// constraint is one model-constraint failure, as AWS words it.
func constraint(value any, member, rule string) string {
	v := "null"
	if value != nil {
		v = fmt.Sprintf("'%v'", value)
	}
	return fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", v, member, rule)
}

// validation is a ValidationError listing constraint failures.
func validation(msgs ...string) error {
	noun := "error"
	if len(msgs) > 1 {
		noun = "errors"
	}
	return awserr.New(awserr.Validation, "%d validation %s detected: %s", len(msgs), noun, strings.Join(msgs, "; "))
}

// violations collects constraint failures, reported together.
type violations []string

func (v *violations) add(value any, member, rule string) {
	*v = append(*v, constraint(value, member, rule))
}

func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	return validation(v...)
}

func sortBy[T any](s []T, key func(T) string) {
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
}

func invalidInput(msg string) error { return awserr.New(awserr.InvalidInput, "%s", msg) }

func limitExceeded(msg string) error { return awserr.New(awserr.LimitExceeded, "%s", msg) }
