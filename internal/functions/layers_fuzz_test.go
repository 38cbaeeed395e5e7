package functions

import (
	"regexp"
	"testing"
)

var layerNameOnlyRe = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)

// FuzzParseLayerName: any LayerName path member either is refused or names
// a layer whose own ARN parses back to it.
func FuzzParseLayerName(f *testing.F) {
	for _, s := range []string{"lib", "arn:aws:lambda:us-east-1:123456789012:layer:lib", "arn:aws:lambda:eu-west-1:123456789012:layer:lib",
		"arn:aws:lambda:us-east-1:123456789012:layer:lib:1", "", "a b", "arn:", "lib\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		l, err := ParseLayerName(id, "111122223333", "us-east-1")
		if err != nil {
			return
		}
		if len(id) > 140 || !layerNameOnlyRe.MatchString(l.Name) || len(l.Account) != 12 {
			t.Fatalf("%q parsed to %+v", id, l)
		}
		back, err := ParseLayerName(LayerARN("us-east-1", l), "999999999999", "us-east-1")
		if err != nil || back != l {
			t.Fatalf("%q: %+v, whose ARN parses to %+v, %v", id, l, back, err)
		}
	})
}

// FuzzParseLayerVersionARN: a layer version ARN that parses is rebuilt by
// LayerVersionARN into one that parses to the same parts.
func FuzzParseLayerVersionARN(f *testing.F) {
	for _, s := range []string{"arn:aws:lambda:us-east-1:123456789012:layer:lib:1", "arn:aws:lambda:us-east-1:123456789012:layer:lib:0",
		"arn:aws:lambda:us-east-1:123456789012:layer:lib:99999999999999999999", "arn:aws:lambda:us-east-1:123456789012:layer:lib", "lib:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		l, region, n, ok := ParseLayerVersionARN(a)
		if !ok {
			return
		}
		if n < 1 || !layerNameOnlyRe.MatchString(l.Name) || len(l.Account) != 12 {
			t.Fatalf("%q parsed to %+v %s %d", a, l, region, n)
		}
		l2, r2, n2, ok := ParseLayerVersionARN(LayerVersionARN(region, l, n))
		if !ok || l2 != l || r2 != region || n2 != n {
			t.Fatalf("%q: rebuilt ARN parses to %+v %s %d %v", a, l2, r2, n2, ok)
		}
	})
}
