package functions_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
)

const (
	region  = "us-east-1"
	account = "123456789012"
)

func TestParseRef(t *testing.T) {
	long := strings.Repeat("n", 64)
	cases := []struct {
		id, qualifier string
		want          functions.Ref
		err           awserr.Type
	}{
		{id: "fn", want: functions.Ref{Account: account, Name: "fn"}},
		{id: "fn:1", want: functions.Ref{Account: account, Name: "fn", Qualifier: "1"}},
		{id: "fn:$LATEST", want: functions.Ref{Account: account, Name: "fn", Qualifier: "$LATEST"}},
		{id: "fn", qualifier: "live", want: functions.Ref{Account: account, Name: "fn", Qualifier: "live"}},
		{id: "fn:live", qualifier: "live", want: functions.Ref{Account: account, Name: "fn", Qualifier: "live"}},
		{id: long, want: functions.Ref{Account: account, Name: long}},
		{id: "210987654321:function:fn", want: functions.Ref{Account: "210987654321", Name: "fn"}},
		{id: "210987654321:function:fn:7", want: functions.Ref{Account: "210987654321", Name: "fn", Qualifier: "7"}},
		{id: "arn:aws:lambda:us-east-1:210987654321:function:fn", want: functions.Ref{Account: "210987654321", Name: "fn"}},
		{id: "arn:aws:lambda:us-east-1:210987654321:function:fn:prod", want: functions.Ref{Account: "210987654321", Name: "fn", Qualifier: "prod"}},
		{id: "arn:aws-cn:lambda:us-east-1:210987654321:function:fn", want: functions.Ref{Account: "210987654321", Name: "fn"}},

		{id: "", err: awserr.Validation},
		{id: "fn name", err: awserr.Validation},
		{id: "fn.x", err: awserr.Validation},
		{id: long + "n", err: awserr.Validation},
		{id: strings.Repeat("n", 171), err: awserr.Validation},
		{id: "fn:1", qualifier: "2", err: awserr.InvalidParameterValue},
		{id: "fn", qualifier: "$NOPE", err: awserr.Validation},
		{id: "fn:$NOPE", err: awserr.Validation},
		{id: "fn", qualifier: strings.Repeat("q", 129), err: awserr.Validation},
		{id: "arn:aws:lambda:eu-west-1:210987654321:function:fn", err: awserr.InvalidParameterValue},
		{id: "arn:aws:lambda:us-east-1:21098765432:function:fn", err: awserr.Validation},
		{id: "arn:aws:lambda:us-east-1:210987654321:fn", err: awserr.InvalidParameterValue},
		{id: "arn:aws:s3:us-east-1:210987654321:function:fn", err: awserr.Validation},
	}
	for _, c := range cases {
		t.Run(c.id+"?"+c.qualifier, func(t *testing.T) {
			got, err := functions.ParseRef(c.id, c.qualifier, account, region)
			if c.err != "" {
				if !awserr.IsType(err, c.err) {
					t.Fatalf("ParseRef = %+v, %v; want %s", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseRef = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

var (
	nameRe      = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	accountRe   = regexp.MustCompile(`^\d{12}$`)
	qualifierRe = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9_-]+)$`)
)

// FuzzParseRef checks ParseRef on arbitrary identifiers: it never panics,
// refuses with a client error, and what it accepts is a well-formed
// reference that its own ARN names again.
func FuzzParseRef(f *testing.F) {
	for _, s := range []struct{ id, q string }{
		{"fn", ""}, {"fn:1", ""}, {"fn", "live"}, {"fn:1", "2"}, {"fn:$LATEST", "$LATEST"},
		{"123456789012:function:fn:alias", ""}, {"arn:aws:lambda:us-east-1:123456789012:function:fn", "3"},
		{"arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn", ""}, {"us-east-1:123456789012:function:fn", ""},
		{"function:fn", ""}, {"123456789012:fn", ""}, {"arn:aws:lambda:us-east-1:123456789012:function:", ""},
		{"fn::", ""}, {"fn", "$"}, {strings.Repeat("a", 170), ""},
	} {
		f.Add(s.id, s.q)
	}
	f.Fuzz(func(t *testing.T, id, qualifier string) {
		r, err := functions.ParseRef(id, qualifier, account, region)
		if err != nil {
			var ae *awserr.Error
			if !errors.As(err, &ae) || (ae.Type != awserr.Validation && ae.Type != awserr.InvalidParameterValue) {
				t.Fatalf("ParseRef(%q, %q): error %v is not a client error", id, qualifier, err)
			}
			if r != (functions.Ref{}) {
				t.Fatalf("ParseRef(%q, %q) failed but returned %+v", id, qualifier, r)
			}
			return
		}
		if !nameRe.MatchString(r.Name) || !accountRe.MatchString(r.Account) {
			t.Fatalf("ParseRef(%q, %q) = %+v: malformed name or account", id, qualifier, r)
		}
		if r.Qualifier != "" && !qualifierRe.MatchString(r.Qualifier) {
			t.Fatalf("ParseRef(%q, %q) = %+v: malformed qualifier", id, qualifier, r)
		}
		if qualifier != "" && r.Qualifier != qualifier {
			t.Fatalf("ParseRef(%q, %q) = %+v: the Qualifier parameter was not applied", id, qualifier, r)
		}
		if !strings.HasSuffix(id, r.Name) && !strings.Contains(id, r.Name+":") {
			t.Fatalf("ParseRef(%q, %q) = %+v: name not taken from the identifier", id, qualifier, r)
		}
		// The reference's own ARN names the same thing, when it fits the
		// 170 characters FunctionName allows (a long alias reachable as
		// name:alias may not fit as an ARN, in Lambda as here).
		if arn := r.ARN(region); len(arn) <= 170 {
			again, err := functions.ParseRef(arn, "", account, region)
			if err != nil || again != r {
				t.Fatalf("ParseRef(%q) of %+v's ARN = %+v, %v", arn, r, again, err)
			}
		}
		if r.ARN(region) != functions.QualifiedARN(region, r.Account, r.Name, r.Qualifier) {
			t.Fatalf("ARN mismatch for %+v", r)
		}
	})
}
