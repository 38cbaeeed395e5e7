package policy

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// wrap builds a 2012-10-17 document with one statement object.
func wrap(stmt string) string {
	return `{"Version":"2012-10-17","Statement":` + stmt + `}`
}

// manyKeys returns n condition keys aws:k0 ... as object members, then the
// extra members.
func manyKeys(n int, extra ...string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `"aws:k%d":"v",`, i)
	}
	for _, e := range extra {
		b.WriteString(e + ",")
	}
	return strings.TrimSuffix(b.String(), ",")
}

func TestParseRejects(t *testing.T) {
	deep := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:x":[["v"]]}}}}`
	tests := []struct {
		name string
		kind Kind
		doc  string
		msg  string // exact ParseError.Message
	}{
		{"not JSON", Identity, `{`, msgSyntax},
		{"trailing comma", Identity, `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},]}`, msgSyntax},
		{"duplicate member", Identity, wrap(`{"Effect":"Allow","Effect":"Deny","Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"duplicate member in a large object", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{` + manyKeys(40, `"aws:k17":"w"`) + `}}}`), msgSyntax},
		{"duplicate top-level member", Identity, `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"},"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}`, msgSyntax},
		{"top level is an array", Identity, `[]`, msgSyntax},
		{"unknown top-level element", Identity, `{"Version":"2012-10-17","Foo":1,"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, msgSyntax},
		{"bad Version", Identity, `{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, msgSyntax},
		{"Version not a string", Identity, `{"Version":2012,"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, msgSyntax},
		{"Id not a string", Identity, `{"Id":1,"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, msgSyntax},
		{"missing Statement", Identity, `{"Version":"2012-10-17"}`, "Missing required field Statement"},
		{"empty Statement array", Identity, `{"Version":"2012-10-17","Statement":[]}`, msgSyntax},
		{"Statement is a string", Identity, `{"Version":"2012-10-17","Statement":"x"}`, msgSyntax},
		{"statement is not an object", Identity, `{"Version":"2012-10-17","Statement":["x"]}`, msgSyntax},
		{"unknown statement element", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Principals":"*"}`), msgSyntax},
		{"element names are case-sensitive", Identity, wrap(`{"effect":"Allow","Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"missing Effect", Identity, wrap(`{"Action":"s3:*","Resource":"*"}`), "Missing required field Effect"},
		{"Effect in lower case", Identity, wrap(`{"Effect":"allow","Action":"s3:*","Resource":"*"}`), msgLegacy},
		{"unknown Effect", Identity, wrap(`{"Effect":"Permit","Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"Effect not a string", Identity, wrap(`{"Effect":true,"Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"Principal in identity policy", Identity, wrap(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`), msgNoPrincipal},
		{"NotPrincipal in identity policy", Identity, wrap(`{"Effect":"Deny","NotPrincipal":{"AWS":"111111111111"},"Action":"s3:*","Resource":"*"}`), msgNoPrincipal},
		{"Principal in boundary", Boundary, wrap(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`), msgNoPrincipal},
		{"Principal in guardrail", Guardrail, wrap(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`), msgNoPrincipal},
		{"Principal in session policy", Session, wrap(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`), msgNoPrincipal},
		{"resource policy without Principal", Resource, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`), "Missing required field Principal"},
		{"trust policy without Principal", Trust, wrap(`{"Effect":"Allow","Action":"sts:AssumeRole"}`), "Missing required field Principal"},
		{"Principal and NotPrincipal", Resource, wrap(`{"Effect":"Deny","Principal":"*","NotPrincipal":"*","Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"Principal string other than *", Resource, wrap(`{"Effect":"Allow","Principal":"alice","Action":"s3:*","Resource":"*"}`), `Invalid principal in policy: "alice"`},
		{"Principal ARN with wildcard", Resource, wrap(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/*"},"Action":"s3:*","Resource":"*"}`), `Invalid principal in policy: "AWS":"arn:aws:iam::111111111111:user/*"`},
		{"Principal short account", Resource, wrap(`{"Effect":"Allow","Principal":{"AWS":"12345"},"Action":"s3:*","Resource":"*"}`), `Invalid principal in policy: "AWS":"12345"`},
		{"Principal ARN of another service", Resource, wrap(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:s3:::bucket"},"Action":"s3:*","Resource":"*"}`), `Invalid principal in policy: "AWS":"arn:aws:s3:::bucket"`},
		{"Principal unknown type", Resource, wrap(`{"Effect":"Allow","Principal":{"Group":"x"},"Action":"s3:*","Resource":"*"}`), `Invalid principal in policy: "Group":"x"`},
		{"Principal Service wildcard", Resource, wrap(`{"Effect":"Allow","Principal":{"Service":"*"},"Action":"s3:*","Resource":"*"}`), `Invalid principal in policy: "Service":"*"`},
		{"Principal empty object", Resource, wrap(`{"Effect":"Allow","Principal":{},"Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"Principal empty array", Resource, wrap(`{"Effect":"Allow","Principal":{"AWS":[]},"Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"missing Action", Identity, wrap(`{"Effect":"Allow","Resource":"*"}`), "Missing required field Action"},
		{"Action and NotAction", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}`), msgSyntax},
		{"empty Action array", Identity, wrap(`{"Effect":"Allow","Action":[],"Resource":"*"}`), msgNoActions},
		{"empty NotAction array", Identity, wrap(`{"Effect":"Allow","NotAction":[],"Resource":"*"}`), msgNoActions},
		{"Action without vendor", Identity, wrap(`{"Effect":"Allow","Action":"GetFunction","Resource":"*"}`), msgVendor},
		{"Action with two colons", Identity, wrap(`{"Effect":"Allow","Action":"lambda:Get:Function","Resource":"*"}`), msgOneColon},
		{"Action with a bad vendor", Identity, wrap(`{"Effect":"Allow","Action":"lam bda:Get","Resource":"*"}`), "Vendor lam bda is not valid"},
		{"Action vendor wildcard", Identity, wrap(`{"Effect":"Allow","Action":"*:Get*","Resource":"*"}`), "Vendor * is not valid"},
		{"Action is a number", Identity, wrap(`{"Effect":"Allow","Action":5,"Resource":"*"}`), msgSyntax},
		{"Action array holds an array", Identity, wrap(`{"Effect":"Allow","Action":[["s3:*"]],"Resource":"*"}`), msgSyntax},
		{"missing Resource", Identity, wrap(`{"Effect":"Allow","Action":"s3:*"}`), "Missing required field Resource"},
		{"missing Resource in resource policy", Resource, wrap(`{"Effect":"Allow","Principal":"*","Action":"s3:*"}`), "Missing required field Resource"},
		{"empty Resource array", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":[]}`), msgNoResources},
		{"Resource not an ARN", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}`), `Resource bucket must be in ARN format or "*".`},
		{"Resource with too few parts", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3"}`), `Resource arn:aws:s3 must be in ARN format or "*".`},
		{"Resource with :: and too few parts", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3::bucket"}`), msgLegacy},
		{"Resource without service", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws::::x"}`), "Resource vendor must be fully qualified and cannot contain regexes."},
		{"Resource and NotResource", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}`), msgSyntax},
		{"Resource in trust policy", Trust, wrap(`{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}`), "Has prohibited field Resource"},
		{"NotResource in trust policy", Trust, wrap(`{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole","NotResource":"*"}`), "Has prohibited field NotResource"},
		{"unknown condition operator", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"aws:x":"y"}}}`), "Invalid Condition type : StringEqualz"},
		{"operator names are case-sensitive", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"stringequals":{"aws:x":"y"}}}`), "Invalid Condition type : stringequals"},
		{"NullIfExists", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"aws:x":"true"}}}`), "Invalid Condition type : NullIfExists"},
		{"ForAnyValue:Null", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue:Null":{"aws:x":"true"}}}`), "Invalid Condition type : ForAnyValue:Null"},
		{"two set operators", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue:ForAllValues:StringLike":{"aws:x":"y"}}}`), "Invalid Condition type : ForAnyValue:ForAllValues:StringLike"},
		{"condition key without vendor", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"SourceIp":"10.0.0.0/8"}}}`), msgVendor},
		{"Condition not an object", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":["x"]}`), msgSyntax},
		{"operator block not an object", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":"x"}}`), msgSyntax},
		{"condition with no values", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:x":[]}}}`), msgSyntax},
		{"condition value null", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:x":null}}}`), msgSyntax},
		{"condition values nested too deep", Identity, deep, msgSyntax},
		{"NumericEquals not a number", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericEquals":{"s3:max-keys":"ten"}}}`), `Invalid value "ten" for condition operator NumericEquals.`},
		{"NumericLessThan infinity", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"Inf"}}}`), `Invalid value "Inf" for condition operator NumericLessThan.`},
		{"Date not a date", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}}`), msgLegacy},
		{"Date with a variable", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"${aws:TokenIssueTime}"}}}`), msgLegacy},
		{"IpAddress bad CIDR", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}`), `Invalid value "10.0.0.0/33" for condition operator IpAddress.`},
		{"BinaryEquals not base64", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"BinaryEquals":{"aws:x":"!!!"}}}`), `Invalid value "!!!" for condition operator BinaryEquals.`},
		{"Bool not a boolean", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), `Invalid value "yes" for condition operator Bool.`},
		{"Null not a boolean", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Null":{"aws:x":"maybe"}}}`), `Invalid value "maybe" for condition operator Null.`},
		{"Null with two values", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Null":{"aws:x":["true","false"]}}}`), `Invalid value "true" for condition operator Null.`},
		{"duplicate Sid", Identity, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}]}`, msgSidUnique},
		{"Sid not alphanumeric in identity policy", Identity, wrap(`{"Sid":"a-b","Effect":"Allow","Action":"s3:*","Resource":"*"}`), msgSidAlnum},
		{"Sid not alphanumeric in trust policy", Trust, wrap(`{"Sid":"a b","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`), msgSidAlnum},
		{"Sid with a control character in resource policy", Resource, wrap(`{"Sid":"a\u0001","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"Sid not a string", Identity, wrap(`{"Sid":1,"Effect":"Allow","Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"Sid too long", Identity, wrap(`{"Sid":"` + strings.Repeat("a", MaxStringSize+1) + `","Effect":"Allow","Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"unterminated variable in Resource", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username"}`), "Invalid policy variable in resource arn:aws:s3:::b/${aws:username"},
		{"variable without vendor", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${username}"}`), "Invalid policy variable in resource arn:aws:s3:::b/${username}"},
		{"variable default not quoted", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:x":"${aws:username, x}"}}}`), `Invalid value "${aws:username, x}" for condition operator StringEquals.`},
		{"nesting deeper than a policy", Identity, `{"Statement":[[[[[[[]]]]]]]}`, msgSyntax},
		{"invalid UTF-8", Identity, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Sid\":\"\xff\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}", msgSyntax},
		{"lone surrogate", Identity, wrap(`{"Sid":"\ud800","Effect":"Allow","Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"control character in string", Identity, wrap("{\"Sid\":\"a\tb\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}"), msgSyntax},
		{"data after the document", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`) + `{}`, msgSyntax},
		{"byte order mark", Identity, "\xef\xbb\xbf" + wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`), msgSyntax},
		{"document too large", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`) + strings.Repeat(" ", MaxDocumentSize), "Policy document exceeds the maximum size of 131072 bytes."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc), tt.kind)
			if err == nil {
				t.Fatalf("Parse accepted the document: %v", p)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.Message != tt.msg {
				t.Errorf("Message = %q, want %q (detail %q)", pe.Message, tt.msg, pe.Detail)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("errors.Is(%v, ErrMalformed) = false", err)
			}
		})
	}
}

func TestParseInvalidKind(t *testing.T) {
	_, err := Parse([]byte(wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`)), Kind(0))
	if err == nil || errors.Is(err, ErrMalformed) {
		t.Fatalf("Parse with Kind(0) = %v, want a non-ParseError error", err)
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		doc  string
	}{
		{"minimal identity policy", Identity, wrap(`{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"*"}`)},
		{"no Version", Identity, `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`},
		{"Version 2008", Identity, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username"}}`},
		{"Id and statement array", Identity, `{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"A1","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},{"Effect":"Deny","NotAction":"s3:*","NotResource":"arn:aws:s3:::b"}]}`},
		{"empty Sids are not duplicates", Identity, `{"Statement":[{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
		{"Lambda resource policy", Resource, `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"s3-invoke_1.x","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f","Condition":{"StringEquals":{"AWS:SourceAccount":"111111111111"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}]}`},
		{"every principal form", Resource, wrap(`{"Effect":"Allow","Principal":{"AWS":["*","111111111111","arn:aws:iam::111111111111:root","arn:aws:iam::111111111111:user/path/alice","arn:aws:iam::111111111111:role/r","arn:aws:sts::111111111111:assumed-role/r/s","arn:aws:sts::111111111111:federated-user/f"],"Service":"lambda.amazonaws.com","Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"s3:*","Resource":"*"}`)},
		{"NotPrincipal", Resource, wrap(`{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"s3:*","Resource":"*"}`)},
		{"trust policy", Trust, wrap(`{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com"]},"Action":["sts:AssumeRole","sts:TagSession"]}`)},
		{"guardrail", Guardrail, wrap(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1"]}}}`)},
		{"every operator", Identity, wrap(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
			"StringEquals":{"aws:a":"x"},"StringNotEquals":{"aws:a":"x"},"StringEqualsIgnoreCase":{"aws:a":"x"},"StringNotEqualsIgnoreCase":{"aws:a":"x"},
			"StringLike":{"aws:a":"x*"},"StringNotLike":{"aws:a":"x?"},
			"NumericEquals":{"aws:n":1},"NumericNotEquals":{"aws:n":"1.5"},"NumericLessThan":{"aws:n":"-1"},"NumericLessThanEquals":{"aws:n":"1e3"},"NumericGreaterThan":{"aws:n":"0"},"NumericGreaterThanEquals":{"aws:n":"0"},
			"DateEquals":{"aws:d":"2020-01-01"},"DateNotEquals":{"aws:d":"1577836800"},"DateLessThan":{"aws:d":"2020-01-01T00:00:00Z"},"DateLessThanEquals":{"aws:d":"2020-01-01T00:00:00+01:00"},"DateGreaterThan":{"aws:d":"2020-01-01T00:00"},"DateGreaterThanEquals":{"aws:d":"2020-01-01T00:00:00.123Z"},
			"Bool":{"aws:SecureTransport":true},"BinaryEquals":{"aws:b":"QmluYXJ5"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32","192.0.2.1"]},"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"},
			"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::b"},"ArnLike":{"aws:SourceArn":"arn:aws:s3:::b*"},"ArnNotEquals":{"aws:SourceArn":"arn:aws:s3:::b"},"ArnNotLike":{"aws:SourceArn":"arn:aws:s3:::b*"},
			"Null":{"aws:a":false},"ForAnyValue:StringLike":{"aws:TagKeys":"a*"},"ForAllValues:StringEqualsIfExists":{"aws:TagKeys":"a"},"StringLikeIfExists":{"aws:a":"x"}}}`)},
		{"variables with defaults and specials", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/${*}${?}${$}","Condition":{"StringLike":{"s3:prefix":"${aws:PrincipalTag/team, 'none'}/*"}}}`)},
		{"escaped strings", Identity, wrap(`{"Sid":"\u0041\u0042","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/\"q\"\\\/\ud83d\ude00"}`)},
		{"large condition block", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{` + manyKeys(40) + `}}}`)},
		{"empty Condition", Identity, wrap(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc), tt.kind)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Kind() != tt.kind {
				t.Errorf("Kind() = %v, want %v", p.Kind(), tt.kind)
			}
			checkRoundTrip(t, p)
		})
	}
}

// checkRoundTrip marshals p, parses the result, and requires an identical
// policy and a stable encoding.
func checkRoundTrip(t *testing.T, p *Policy) {
	t.Helper()
	b, err := p.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	q, err := Parse(b, p.Kind())
	if err != nil {
		t.Fatalf("re-parse of %s: %v", b, err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("re-parsed policy differs from the original\nmarshaled: %s", b)
	}
	b2, _ := q.MarshalJSON()
	if string(b) != string(b2) {
		t.Fatalf("marshal not stable:\n%s\n%s", b, b2)
	}
}

func TestMarshalKeepsShape(t *testing.T) {
	doc := `{"Version":"2012-10-17","Id":"default","Statement":{"Sid":"1","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":["arn:aws:lambda:us-east-1:111111111111:function:f"],"Condition":{"NumericLessThan":{"aws:n":[10,"20"]},"Bool":{"aws:SecureTransport":true}}}}`
	p, err := Parse([]byte(doc), Resource)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.MarshalJSON()
	if string(b) != doc {
		t.Errorf("MarshalJSON =\n%s\nwant\n%s", b, doc)
	}
}

func TestStatementEditing(t *testing.T) {
	p, err := NewPolicy(Resource, "default")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPolicy(Kind(99), ""); err == nil {
		t.Error("NewPolicy(Kind(99)) succeeded")
	}
	add := func(p *Policy, stmt string) (*Policy, error) { return p.AddStatement([]byte(stmt)) }
	p1, err := add(p, `{"Sid":"a","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f"}`)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := add(p1, `{"Sid":"b","Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"lambda:GetFunction","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f"}`)
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 0 || p1.Len() != 1 || p2.Len() != 2 {
		t.Fatalf("lengths %d %d %d, want 0 1 2 (editing must not modify the receiver)", p.Len(), p1.Len(), p2.Len())
	}
	tests := []struct {
		name    string
		stmt    string
		wantErr error
	}{
		{"duplicate Sid", `{"Sid":"a","Effect":"Allow","Principal":"*","Action":"lambda:GetPolicy","Resource":"*"}`, ErrDuplicateSid},
		{"malformed statement", `{"Sid":"c","Effect":"Allow","Action":"lambda:GetPolicy","Resource":"*"}`, ErrMalformed},
		{"not JSON", `{"Sid":`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := add(p2, tt.stmt); !errors.Is(err, tt.wantErr) {
				t.Errorf("AddStatement = %v, want %v", err, tt.wantErr)
			}
		})
	}

	sts := p2.Statements()
	if len(sts) != 2 || sts[0].Sid != "a" || sts[1].Sid != "b" || sts[1].Effect != "Allow" {
		t.Fatalf("Statements() = %+v", sts)
	}
	if want := `{"Sid":"b","Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"lambda:GetFunction","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f"}`; string(sts[1].JSON) != want {
		t.Errorf("Statements()[1].JSON = %s, want %s", sts[1].JSON, want)
	}
	checkRoundTrip(t, p2)

	p3, err := p2.RemoveStatement("a")
	if err != nil {
		t.Fatal(err)
	}
	if p3.Len() != 1 || p3.Statements()[0].Sid != "b" || p2.Len() != 2 {
		t.Errorf("after RemoveStatement: %v (original %v)", p3, p2)
	}
	if _, err := p3.RemoveStatement("a"); !errors.Is(err, ErrStatementNotFound) {
		t.Errorf("RemoveStatement of a missing Sid = %v, want ErrStatementNotFound", err)
	}
	if _, err := p3.RemoveStatement(""); !errors.Is(err, ErrStatementNotFound) {
		t.Errorf("RemoveStatement(\"\") = %v, want ErrStatementNotFound", err)
	}
	b, _ := p3.MarshalJSON()
	if want := `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"b","Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"lambda:GetFunction","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f"}]}`; string(b) != want {
		t.Errorf("MarshalJSON = %s, want %s", b, want)
	}
}

func TestParseErrorText(t *testing.T) {
	_, err := Parse([]byte(wrap(`{"Effect":"Allow","Action":"s3:*"}`)), Identity)
	if got, want := err.Error(), "policy: Missing required field Resource (Statement[0])"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
