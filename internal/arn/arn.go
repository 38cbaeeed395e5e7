// Package arn splits Amazon Resource Names into their fields:
// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, where the resource may
// itself contain colons ("function:name:alias"). It only splits: what a
// field may hold is for each service to check.
package arn

import "strings"

// ARN is a split Amazon Resource Name. The fields are substrings of the
// parsed string (nothing is copied).
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// Parse splits s. It fails unless s starts with "arn:" and has all six
// fields (any may be empty).
func Parse(s string) (ARN, bool) {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return ARN{}, false
	}
	var a ARN
	for _, f := range []*string{&a.Partition, &a.Service, &a.Region, &a.Account} {
		if *f, rest, ok = strings.Cut(rest, ":"); !ok {
			return ARN{}, false
		}
	}
	a.Resource = rest
	return a, true
}

// Service is the service of an ARN ("sqs", "lambda"), "" when s is not one.
func Service(s string) string {
	a, _ := Parse(s)
	return a.Service
}

// Region is the region of an ARN, "" when s is not one or names none.
func Region(s string) string {
	a, _ := Parse(s)
	return a.Region
}

// Account is the account of an ARN, "" when s is not one or names none.
func Account(s string) string {
	a, _ := Parse(s)
	return a.Account
}
