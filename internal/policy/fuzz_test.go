package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// seedDocs are typical and tricky documents; the committed corpora under
// testdata/fuzz hold more, including malformed ones.
var seedDocs = []string{
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"lambda:*","Resource":"*"}}`,
	`{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f","Condition":{"StringEquals":{"AWS:SourceAccount":"111111111111"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b*"}}}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}},{"Effect":"Deny","NotAction":"s3:*","NotResource":"arn:aws:s3:::b"}]}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["111111111111","arn:aws:iam::222222222222:role/r"]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}}`,
	`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:sts::111111111111:assumed-role/r/s","arn:aws:iam::111111111111:role/r","111111111111"]},"Action":"*","Resource":"*"}}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["a*","b?"]},"ForAnyValue:NumericLessThan":{"aws:n":[1,"2.5"]},"Null":{"aws:x":true},"Bool":{"aws:SecureTransport":"true"},"BinaryEquals":{"aws:b":"QQ=="},"StringNotEqualsIgnoreCaseIfExists":{"aws:PrincipalTag/t":"${aws:username, 'x'}${*}"}}}}`,
	`{"Version":"2008-10-17","Statement":[{"Sid":"1","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::${aws:username}"}]}`,
	`{"Statement":[[[[[[[]]]]]]]}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"\u0041\ud83d\ude00\"\\"}}`,
}

// FuzzParse checks that Parse never panics, that whatever it accepts is
// valid JSON, and that an accepted document marshals to a document that
// parses to the same policy and marshals to the same bytes.
func FuzzParse(f *testing.F) {
	for i, d := range seedDocs {
		f.Add([]byte(d), uint8(i))
	}
	f.Fuzz(func(t *testing.T, doc []byte, kindSel uint8) {
		k := Kind(int(kindSel)%int(Session) + 1)
		p, err := Parse(doc, k)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Message == "" {
				t.Fatalf("Parse error %v is not a *ParseError with a message", err)
			}
			return
		}
		if !json.Valid(doc) {
			t.Fatalf("Parse accepted invalid JSON %q", doc)
		}
		b, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Fatalf("MarshalJSON wrote invalid JSON %q", b)
		}
		q, err := Parse(b, k)
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", b, doc, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("re-parsed policy differs: %q from %q", b, doc)
		}
		b2, _ := q.MarshalJSON()
		if string(b) != string(b2) {
			t.Fatalf("marshal not stable: %q vs %q", b, b2)
		}
	})
}

// fuzzPrincipals are the callers FuzzEvaluate picks from.
var fuzzPrincipals = []Principal{alice, bob, session, sessionB, rootA, rootB, fedUser, s3svc, anon, webID}

// FuzzEvaluate parses a document, evaluates a random request against it in
// the slot its kind belongs to, and checks that nothing panics, that the
// result is consistent, and that adding a deny-everything statement to the
// same policy always yields ExplicitDeny.
func FuzzEvaluate(f *testing.F) {
	for i, d := range seedDocs {
		f.Add(d, uint8(i), "lambda:GetFunction", "arn:aws:lambda:us-east-1:111111111111:function:f", uint8(i), "aws:SourceIp", "10.0.0.1")
	}
	f.Fuzz(func(t *testing.T, doc string, kindSel uint8, action, resource string, principalSel uint8, key, value string) {
		k := Kind(int(kindSel)%int(Session) + 1)
		p, err := Parse([]byte(doc), k)
		if err != nil {
			return
		}
		req := Request{
			Principal: fuzzPrincipals[int(principalSel)%len(fuzzPrincipals)],
			Action:    action,
			Resource:  resource,
		}
		req.Context.Set(key, value)
		req.Context.Set("aws:TagKeys", value, key)

		place := func(p *Policy) Input {
			in := Input{Request: req, ResourceAccount: acctA}
			switch k {
			case Resource, Trust:
				in.Resource = p
			case Boundary:
				in.Boundary = p
			case Session:
				in.Session = []*Policy{p}
			case Guardrail:
				in.Guardrails = []*Policy{p}
			default:
				in.Identity = []*Policy{p}
			}
			return in
		}
		r := Evaluate(place(p))
		switch r.Decision {
		case Allow:
			if r.Reason != "" {
				t.Fatalf("allowed with reason %q", r.Reason)
			}
		case ExplicitDeny, ImplicitDeny:
			if r.Reason == "" {
				t.Fatal("denied without a reason")
			}
		default:
			t.Fatalf("decision %v", r.Decision)
		}
		_ = p.Check(req)

		var deny string
		switch k {
		case Resource:
			deny = `{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}`
		case Trust:
			deny = `{"Effect":"Deny","Principal":"*","Action":"*"}`
		default:
			deny = `{"Effect":"Deny","Action":"*","Resource":"*"}`
		}
		pd, err := p.AddStatement([]byte(deny))
		if err != nil {
			t.Fatalf("AddStatement: %v", err)
		}
		if r := Evaluate(place(pd)); r.Decision != ExplicitDeny {
			t.Fatalf("deny-all statement gave %v (%s) for %+v", r.Decision, r.Reason, req)
		}
		if r := pd.Check(req); r.Decision != ExplicitDeny {
			t.Fatalf("Check with deny-all statement gave %v", r.Decision)
		}
	})
}
