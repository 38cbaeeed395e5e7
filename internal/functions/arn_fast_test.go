package functions

import (
	"regexp"
	"testing"
)

// The patterns the byte checks stand in for, as the API documents them.
var (
	bareRe      = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)
	qualifierRe = regexp.MustCompile(`^[a-zA-Z0-9$_-]+$`)
)

// FuzzParseRefFastPath checks that ParseRef's shortcut for bare names
// concludes what the full parse does, and that the byte checks accept
// exactly what their patterns accept.
func FuzzParseRefFastPath(f *testing.F) {
	for _, s := range []string{"fn", "my-fn_1", "fn:1", "a$b", "", "-", "_", "fn.x", "fn\n", "é", "arn:aws:lambda:us-east-1:123456789012:function:fn"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isName(s), bareRe.MatchString(s); got != want {
			t.Fatalf("isName(%q) = %v, pattern says %v", s, got, want)
		}
		if got, want := isQualifier(s), qualifierRe.MatchString(s); got != want {
			t.Fatalf("isQualifier(%q) = %v, pattern says %v", s, got, want)
		}
		if len(s) > 170 || !isName(s) {
			return
		}
		r, err := splitRef(s, "123456789012", "us-east-1")
		if err != nil || r != (Ref{Account: "123456789012", Name: s}) {
			t.Fatalf("splitRef(%q) = %+v, %v; the shortcut takes it as a bare name", s, r, err)
		}
	})
}
