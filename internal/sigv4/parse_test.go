package sigv4

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	goodCred = "AKIDEXAMPLE/20240501/us-east-1/lambda/aws4_request"
	goodSig  = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	goodAuth = "AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=host;x-amz-date, Signature=" + goodSig
)

func serverRequest(target string, headers ...[2]string) *http.Request {
	r := httptest.NewRequest("GET", target, nil)
	for _, h := range headers {
		r.Header.Add(h[0], h[1])
	}
	return r
}

func TestParseErrors(t *testing.T) {
	date := [2]string{"X-Amz-Date", "20240501T120000Z"}
	authz := func(v string) [2]string { return [2]string{"Authorization", v} }
	presign := "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240501%2Fus-east-1%2Flambda%2Faws4_request" +
		"&X-Amz-Date=20240501T120000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=" + goodSig
	for _, tc := range []struct {
		name string
		r    *http.Request
		kind error
		msg  string
	}{
		{"nothing", serverRequest("/"), ErrMissingAuth, "Missing Authentication Token"},
		{"bearer token", serverRequest("/", authz("Bearer abc")), ErrMissingAuth, "Missing Authentication Token"},
		{"sigv2", serverRequest("/", authz("AWS AKIDEXAMPLE:c2lnbmF0dXJl")), ErrMissingAuth, "Missing Authentication Token"},
		{"header and query", serverRequest(presign, authz(goodAuth), date), ErrSignatureMismatch,
			"Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."},
		{"everything missing", serverRequest("/", authz("AWS4-HMAC-SHA256")), ErrIncomplete,
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either " +
				"a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256"},
		{"no date", serverRequest("/", authz(goodAuth)), ErrIncomplete,
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + goodAuth},
		{"space after equal sign", serverRequest("/", authz("AWS4-HMAC-SHA256 Credential= "+goodCred+", SignedHeaders=host, Signature=ab"), date),
			ErrIncomplete, "'" + goodCred + "' not a valid key=value pair (missing equal-sign) in Authorization header: " +
				"'AWS4-HMAC-SHA256 Credential= " + goodCred + ", SignedHeaders=host, Signature=ab'."},
		{"duplicate parameter", serverRequest("/", authz(goodAuth+", Signature=00"), date), ErrIncomplete,
			"Authorization header has more than one 'Signature' parameter. Authorization=" + goodAuth + ", Signature=00"},
		{"two authorization headers", serverRequest("/", authz(goodAuth), authz(goodAuth), date), ErrIncomplete,
			"Only one 'Authorization' header is allowed."},
		{"bad x-amz-date", serverRequest("/", authz(goodAuth), [2]string{"X-Amz-Date", "2024-05-01T12:00:00Z"}), ErrIncomplete,
			"Date must be in ISO-8601 'basic format'. Got '2024-05-01T12:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"bad date header", serverRequest("/", authz(goodAuth), [2]string{"Date", "yesterday"}), ErrIncomplete,
			"Date must be in ISO-8601 'basic format'. Got 'yesterday'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"two x-amz-date headers", serverRequest("/", authz(goodAuth), date, date), ErrIncomplete,
			"Date must be in ISO-8601 'basic format'. Got '20240501T120000Z,20240501T120000Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"host not signed", serverRequest("/", authz("AWS4-HMAC-SHA256 Credential="+goodCred+", SignedHeaders=x-amz-date, Signature=ab"), date),
			ErrSignatureMismatch, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{"upper-case signed header", serverRequest("/", authz("AWS4-HMAC-SHA256 Credential="+goodCred+", SignedHeaders=Host;x-amz-date, Signature=ab"), date),
			ErrIncomplete, "Invalid SignedHeaders 'Host;x-amz-date': header names must be lower-case and separated by ';'."},
		{"empty signed header", serverRequest("/", authz("AWS4-HMAC-SHA256 Credential="+goodCred+", SignedHeaders=host;;x-amz-date, Signature=ab"), date),
			ErrIncomplete, "Invalid SignedHeaders 'host;;x-amz-date': header names must be lower-case and separated by ';'."},
		{"other algorithm", serverRequest("/", authz("AWS4-HMAC-SHA512 Credential="+goodCred+", SignedHeaders=host, Signature=ab"), date),
			ErrIncomplete, "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "},
		{"sigv4a", serverRequest("/", authz("AWS4-ECDSA-P256-SHA256 Credential="+goodCred+", SignedHeaders=host, Signature=ab"), date),
			ErrIncomplete, "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now). "},
		{"four credential parts", serverRequest("/", authz("AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/lambda, SignedHeaders=host, Signature=ab"), date),
			ErrIncomplete, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20240501/us-east-1/lambda'"},
		{"six credential parts", serverRequest("/", authz("AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/lambda/aws4_request/x, SignedHeaders=host, Signature=ab"), date),
			ErrIncomplete, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20240501/us-east-1/lambda/aws4_request/x'"},
		{"bad terminator", serverRequest("/", authz("AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/lambda/aws5_request, SignedHeaders=host, Signature=ab"), date),
			ErrSignatureMismatch, "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "},
		{"two session tokens", serverRequest("/", authz(goodAuth), date, [2]string{"X-Amz-Security-Token", "a"}, [2]string{"X-Amz-Security-Token", "b"}),
			ErrIncomplete, "Only one 'X-Amz-Security-Token' header is allowed."},
		{"semicolon in query", serverRequest("/?a=1;b=2", authz(goodAuth), date), ErrIncomplete,
			"Malformed query string: 'a=1;b=2' is not a valid percent-encoded name=value pair."},
		{"bad escape in query", serverRequest("/?a=%zz", authz(goodAuth), date), ErrIncomplete,
			"Malformed query string: 'a=%zz' is not a valid percent-encoded name=value pair."},
		{"presign params missing", serverRequest("/?X-Amz-Algorithm=AWS4-HMAC-SHA256"), ErrIncomplete,
			"AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. " +
				"AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. " +
				"Re-examine the query-string parameters."},
		{"presign param twice", serverRequest(presign + "&X-Amz-Date=20240501T120000Z"), ErrIncomplete,
			"AWS query-string parameter 'X-Amz-Date' must appear only once. Re-examine the query-string parameters."},
		{"presign bad date", serverRequest("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + goodCred +
			"&X-Amz-Date=today&X-Amz-SignedHeaders=host&X-Amz-Signature=ab"), ErrIncomplete,
			"Date must be in ISO-8601 'basic format'. Got 'today'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"expires not a number", serverRequest(presign + "&X-Amz-Expires=soon"), ErrIncomplete, "X-Amz-Expires should be a number"},
		{"expires negative", serverRequest(presign + "&X-Amz-Expires=-1"), ErrIncomplete, "X-Amz-Expires must be non-negative"},
		{"expires over a week", serverRequest(presign + "&X-Amz-Expires=604801"), ErrIncomplete,
			"X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse(tc.r)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %+v, %v; want an *Error", a, err)
			}
			if !errors.Is(err, tc.kind) || e.Message != tc.msg {
				t.Errorf("got %s: %q\nwant %s: %q", kindOf(err), e.Message, tc.kind, tc.msg)
			}
		})
	}
}

func TestParse(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		r    *http.Request
		want Auth
	}{
		{
			name: "header",
			r: serverRequest("/", [2]string{"Authorization", "AWS4-HMAC-SHA256 Credential=" + goodCred +
				",SignedHeaders=content-type;host;x-amz-date,Signature=" + goodSig + ", Extra=ignored"},
				[2]string{"X-Amz-Date", "20240501T120000Z"}, [2]string{"X-Amz-Security-Token", "tok"}),
			want: Auth{AccessKeyID: "AKIDEXAMPLE", Date: "20240501", Region: "us-east-1", Service: "lambda",
				SignedHeaders: []string{"content-type", "host", "x-amz-date"}, Signature: goodSig, Time: at, SessionToken: "tok"},
		},
		{
			name: "date header, RFC 1123",
			r:    serverRequest("/", [2]string{"Authorization", goodAuth}, [2]string{"Date", "Wed, 01 May 2024 12:00:00 GMT"}),
			want: Auth{AccessKeyID: "AKIDEXAMPLE", Date: "20240501", Region: "us-east-1", Service: "lambda",
				SignedHeaders: []string{"host", "x-amz-date"}, Signature: goodSig, Time: at},
		},
		{
			name: "date header, botocore's RFC 2822 form",
			r:    serverRequest("/", [2]string{"Authorization", goodAuth}, [2]string{"Date", "Wed, 01 May 2024 12:00:00 -0000"}),
			want: Auth{AccessKeyID: "AKIDEXAMPLE", Date: "20240501", Region: "us-east-1", Service: "lambda",
				SignedHeaders: []string{"host", "x-amz-date"}, Signature: goodSig, Time: at},
		},
		{
			name: "date header, ISO 8601 basic",
			r:    serverRequest("/", [2]string{"Authorization", goodAuth}, [2]string{"Date", "20240501T120000Z"}),
			want: Auth{AccessKeyID: "AKIDEXAMPLE", Date: "20240501", Region: "us-east-1", Service: "lambda",
				SignedHeaders: []string{"host", "x-amz-date"}, Signature: goodSig, Time: at},
		},
		{
			name: "x-amz-date wins over date",
			r: serverRequest("/", [2]string{"Authorization", goodAuth}, [2]string{"Date", "Thu, 02 May 2024 12:00:00 GMT"},
				[2]string{"X-Amz-Date", "20240501T120000Z"}),
			want: Auth{AccessKeyID: "AKIDEXAMPLE", Date: "20240501", Region: "us-east-1", Service: "lambda",
				SignedHeaders: []string{"host", "x-amz-date"}, Signature: goodSig, Time: at},
		},
		{
			name: "presigned",
			r: serverRequest("/f?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240501%2Fus-east-1%2Flambda%2Faws4_request" +
				"&X-Amz-Date=20240501T120000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host%3Bx-custom&X-Amz-Security-Token=a%2Bb%3D" +
				"&X-Amz-Signature=" + goodSig),
			want: Auth{AccessKeyID: "AKIDEXAMPLE", Date: "20240501", Region: "us-east-1", Service: "lambda",
				SignedHeaders: []string{"host", "x-custom"}, Signature: goodSig, Time: at, SessionToken: "a+b=",
				Presigned: true, Expires: MaxExpires},
		},
		{
			name: "presigned without expiry, encoded parameter name",
			r: serverRequest("/?X-Amz-Algorith%6D=AWS4-HMAC-SHA256&X-Amz-Credential=" + goodCred +
				"&X-Amz-Date=20240501T120000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=" + goodSig),
			want: Auth{AccessKeyID: "AKIDEXAMPLE", Date: "20240501", Region: "us-east-1", Service: "lambda",
				SignedHeaders: []string{"host"}, Signature: goodSig, Time: at, Presigned: true, Expires: ClockSkew},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse(tc.r)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(&tc.want, a); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthLogValueHidesToken(t *testing.T) {
	a := &Auth{AccessKeyID: "AKID", SessionToken: "very-secret-token"}
	got := a.LogValue().String()
	if !strings.Contains(got, "AKID") || !strings.Contains(got, "REDACTED") || strings.Contains(got, "very-secret-token") {
		t.Fatalf("LogValue = %s", got)
	}
}
