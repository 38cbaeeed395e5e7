package arn_test

import (
	"strings"
	"testing"

	"github.com/cloister/cloister/internal/arn"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want arn.ARN
		ok   bool
	}{
		{"arn:aws:lambda:us-east-1:123456789012:function:f:live", arn.ARN{"aws", "lambda", "us-east-1", "123456789012", "function:f:live"}, true},
		{"arn:aws:sqs:eu-west-1:123456789012:q", arn.ARN{"aws", "sqs", "eu-west-1", "123456789012", "q"}, true},
		{"arn:aws:iam::aws:policy/ReadOnlyAccess", arn.ARN{"aws", "iam", "", "aws", "policy/ReadOnlyAccess"}, true},
		{"arn:aws:s3:::bucket", arn.ARN{"aws", "s3", "", "", "bucket"}, true},
		{"arn:aws:sqs:us-east-1:123456789012:", arn.ARN{"aws", "sqs", "us-east-1", "123456789012", ""}, true},
		{"arn:aws:sqs:us-east-1:123456789012", arn.ARN{}, false}, // five fields
		{"arn:aws:sqs", arn.ARN{}, false},
		{"urn:aws:sqs:us-east-1:123456789012:q", arn.ARN{}, false},
		{"ARN:aws:sqs:us-east-1:123456789012:q", arn.ARN{}, false},
		{"", arn.ARN{}, false},
	}
	for _, tc := range tests {
		got, ok := arn.Parse(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if s := arn.Service("arn:aws:lambda:us-east-1:1:function:f"); s != "lambda" {
		t.Errorf("Service = %q", s)
	}
	if r := arn.Region("arn:aws:lambda:us-east-1:1:function:f"); r != "us-east-1" {
		t.Errorf("Region = %q", r)
	}
	if a := arn.Account("arn:aws:lambda:us-east-1:1:function:f"); a != "1" {
		t.Errorf("Account = %q", a)
	}
	if s, r, a := arn.Service("q"), arn.Region("q"), arn.Account("q"); s+r+a != "" {
		t.Errorf("fields of a non-ARN: %q %q %q", s, r, a)
	}
}

// FuzzParse: Parse never panics, and what it accepts joins back to its
// input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"arn:aws:lambda:us-east-1:123456789012:function:f:1", "arn:::::", "arn:", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := arn.Parse(s)
		if !ok {
			if a != (arn.ARN{}) {
				t.Fatalf("failed Parse(%q) returned %+v", s, a)
			}
			return
		}
		if j := strings.Join([]string{"arn", a.Partition, a.Service, a.Region, a.Account, a.Resource}, ":"); j != s {
			t.Fatalf("Parse(%q) = %+v, which joins to %q", s, a, j)
		}
	})
}

func BenchmarkAccount(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = arn.Account("arn:aws:lambda:us-east-1:123456789012:function:name:live")
	}
}
