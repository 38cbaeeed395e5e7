package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// refSignature signs a canonical request written out by hand, with
// crypto/hmac only, so these tests do not trust the code under test.
func refSignature(canon, amzDate, scope, secret string) string {
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	parts := strings.Split(scope, "/")
	key := []byte("AWS4" + secret)
	for _, p := range parts {
		key = mac(key, p)
	}
	sum := sha256.Sum256([]byte(canon))
	sts := Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	return hex.EncodeToString(mac(key, sts))
}

// TestCanonicalRequests sends raw requests whose canonical form is written
// out by hand and signs them with refSignature; the AWS test-suite vectors
// also pin the signature itself.
func TestCanonicalRequests(t *testing.T) {
	const (
		suiteDate  = "20150830T123600Z"
		suiteScope = "20150830/us-east-1/service/aws4_request"
		date       = "20240501T120000Z"
		scope      = "20240501/us-east-1/lambda/aws4_request"
		emptyHash  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		abcHash    = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	)
	for _, tc := range []struct {
		name   string
		raw    string // AUTH is replaced by the Authorization header
		canon  string
		signed string
		scope  string
		sig    string // the expected signature, when published
		token  string // must not appear in a mismatch message
		want   error
	}{
		{
			name: "aws suite get-vanilla", scope: suiteScope, signed: "host;x-amz-date",
			raw:   "GET / HTTP/1.1\r\nHost: example.amazonaws.com\r\nX-Amz-Date: " + suiteDate + "\r\nAUTH\r\n\r\n",
			canon: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:" + suiteDate + "\n\nhost;x-amz-date\n" + emptyHash,
			sig:   "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		},
		{
			name: "aws suite get-vanilla-query-order-key-case", scope: suiteScope, signed: "host;x-amz-date",
			raw:   "GET /?Param2=value2&Param1=value1 HTTP/1.1\r\nHost: example.amazonaws.com\r\nX-Amz-Date: " + suiteDate + "\r\nAUTH\r\n\r\n",
			canon: "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:" + suiteDate + "\n\nhost;x-amz-date\n" + emptyHash,
			sig:   "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
		},
		{
			name: "aws suite get-utf8 (raw UTF-8 on the wire)", scope: suiteScope, signed: "host;x-amz-date",
			raw:   "GET /ሴ HTTP/1.1\r\nHost: example.amazonaws.com\r\nX-Amz-Date: " + suiteDate + "\r\nAUTH\r\n\r\n",
			canon: "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:" + suiteDate + "\n\nhost;x-amz-date\n" + emptyHash,
			sig:   "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
		},
		{
			name: "ARN path is encoded twice", scope: scope, signed: "host;x-amz-date",
			raw:   "POST /2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/invocations HTTP/1.1\r\nHost: h\r\nX-Amz-Date: " + date + "\r\nContent-Length: 3\r\nAUTH\r\n\r\nabc",
			canon: "POST\n/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A1%253Afunction%253Af/invocations\n\nhost:h\nx-amz-date:" + date + "\n\nhost;x-amz-date\n" + abcHash,
		},
		{
			name: "lower-case escape stays as sent", scope: scope, signed: "host;x-amz-date",
			raw:   "GET /a%3ab HTTP/1.1\r\nHost: h\r\nX-Amz-Date: " + date + "\r\nAUTH\r\n\r\n",
			canon: "GET\n/a%253ab\n\nhost:h\nx-amz-date:" + date + "\n\nhost;x-amz-date\n" + emptyHash,
		},
		{
			name: "absolute-form target, host with port", scope: scope, signed: "host;x-amz-date",
			raw:   "GET http://h:8080/p%7Bq?x=1 HTTP/1.1\r\nHost: ignored\r\nX-Amz-Date: " + date + "\r\nAUTH\r\n\r\n",
			canon: "GET\n/p%257Bq\nx=1\nhost:h:8080\nx-amz-date:" + date + "\n\nhost;x-amz-date\n" + emptyHash,
		},
		{
			name: "botocore normalises dot segments and empty segments", scope: scope, signed: "host;x-amz-date",
			raw:   "GET /a/./b//c/../d/ HTTP/1.1\r\nHost: h\r\nX-Amz-Date: " + date + "\r\nAUTH\r\n\r\n",
			canon: "GET\n/a/b/d/\n\nhost:h\nx-amz-date:" + date + "\n\nhost;x-amz-date\n" + emptyHash,
		},
		{
			name: "aws-sdk-go-v2 signs the same path as sent", scope: scope, signed: "host;x-amz-date",
			raw:   "GET /a/./b//c/../d/ HTTP/1.1\r\nHost: h\r\nX-Amz-Date: " + date + "\r\nAUTH\r\n\r\n",
			canon: "GET\n/a/./b//c/../d/\n\nhost:h\nx-amz-date:" + date + "\n\nhost;x-amz-date\n" + emptyHash,
		},
		{
			name: "query decoded, re-encoded and sorted", scope: scope, signed: "host;x-amz-date",
			raw:   "GET /?b=2&a=%7e&a=1&c&d=&q=a+b&%C3%A9=%e2%9c%93&sp=%2a&&t=(x) HTTP/1.1\r\nHost: h\r\nX-Amz-Date: " + date + "\r\nAUTH\r\n\r\n",
			canon: "GET\n/\n%C3%A9=%E2%9C%93&a=1&a=~&b=2&c=&d=&q=a%20b&sp=%2A&t=%28x%29\nhost:h\nx-amz-date:" + date + "\n\nhost;x-amz-date\n" + emptyHash,
		},
		{
			name: "X-Amz-Signature is an ordinary parameter under header auth", scope: scope, signed: "host;x-amz-date",
			raw:   "GET /?X-Amz-Signature=abc HTTP/1.1\r\nHost: h\r\nX-Amz-Date: " + date + "\r\nAUTH\r\n\r\n",
			canon: "GET\n/\nX-Amz-Signature=abc\nhost:h\nx-amz-date:" + date + "\n\nhost;x-amz-date\n" + emptyHash,
		},
		{
			name: "repeated header lines, runs of spaces", scope: scope, signed: "host;x-a;x-amz-date",
			raw:   "GET / HTTP/1.1\r\nHost: h\r\nX-A:   a   b  \r\nx-a: c\r\nX-Amz-Date: " + date + "\r\nAUTH\r\n\r\n",
			canon: "GET\n/\n\nhost:h\nx-a:a b,c\nx-amz-date:" + date + "\n\nhost;x-a;x-amz-date\n" + emptyHash,
		},
		{
			name: "transfer-encoding and content-length signed", scope: scope, signed: "host;transfer-encoding;x-amz-date",
			raw:   "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-Amz-Date: " + date + "\r\nAUTH\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			canon: "POST\n/x\n\nhost:h\ntransfer-encoding:chunked\nx-amz-date:" + date + "\n\nhost;transfer-encoding;x-amz-date\n" + abcHash,
		},
		{
			name: "content-length zero", scope: scope, signed: "content-length;host;x-amz-date",
			raw:   "DELETE /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nX-Amz-Date: " + date + "\r\nAUTH\r\n\r\n",
			canon: "DELETE\n/x\n\ncontent-length:0\nhost:h\nx-amz-date:" + date + "\n\ncontent-length;host;x-amz-date\n" + emptyHash,
		},
		{
			name: "Date header instead of X-Amz-Date", scope: scope, signed: "date;host",
			raw:   "GET / HTTP/1.1\r\nHost: h\r\nDate: Wed, 01 May 2024 12:00:00 GMT\r\nAUTH\r\n\r\n",
			canon: "GET\n/\n\ndate:Wed, 01 May 2024 12:00:00 GMT\nhost:h\n\ndate;host\n" + emptyHash,
		},
		{
			name: "UNSIGNED-PAYLOAD", scope: scope, signed: "host;x-amz-content-sha256;x-amz-date",
			raw:   "PUT /x HTTP/1.1\r\nHost: h\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\nX-Amz-Date: " + date + "\r\nContent-Length: 3\r\nAUTH\r\n\r\nxyz",
			canon: "PUT\n/x\n\nhost:h\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:" + date + "\n\nhost;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD",
		},
		{
			name: "unsigned content hash header still binds the body", scope: scope, signed: "host;x-amz-date",
			raw:   "PUT /x HTTP/1.1\r\nHost: h\r\nX-Amz-Content-Sha256: " + abcHash + "\r\nX-Amz-Date: " + date + "\r\nContent-Length: 3\r\nAUTH\r\n\r\nxyz",
			canon: "PUT\n/x\n\nhost:h\nx-amz-date:" + date + "\n\nhost;x-amz-date\n" + abcHash,
			want:  ErrContentHash,
		},
		{
			name: "streaming payloads are refused", scope: scope, signed: "host;x-amz-content-sha256;x-amz-date",
			raw:   "PUT /x HTTP/1.1\r\nHost: h\r\nX-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\r\nX-Amz-Date: " + date + "\r\nContent-Length: 3\r\nAUTH\r\n\r\nxyz",
			canon: "PUT\n/x\n\nhost:h\nx-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD\nx-amz-date:" + date + "\n\nhost;x-amz-content-sha256;x-amz-date\nSTREAMING-AWS4-HMAC-SHA256-PAYLOAD",
			want:  ErrContentHash,
		},
		{
			name: "signed header missing from the request", scope: scope, signed: "host;x-amz-date;x-gone",
			raw:   "GET / HTTP/1.1\r\nHost: h\r\nX-Amz-Date: " + date + "\r\nAUTH\r\n\r\n",
			canon: "GET\n/\n\nhost:h\nx-amz-date:" + date + "\nx-gone:\n\nhost;x-amz-date;x-gone\n" + emptyHash,
			want:  ErrSignatureMismatch,
		},
		{
			name: "mismatch message redacts the session token", scope: scope, signed: "host;x-amz-date;x-amz-security-token",
			raw:   "GET /?X-Amz-Security-Token=secret-token HTTP/1.1\r\nHost: h\r\nX-Amz-Date: " + date + "\r\nX-Amz-Security-Token: secret-token\r\nAUTH\r\n\r\n",
			canon: "GET\n/\n\nhost:other\nx-amz-date:" + date + "\nx-amz-security-token:secret-token\n\nhost;x-amz-date;x-amz-security-token\n" + emptyHash,
			token: "secret-token",
			want:  ErrSignatureMismatch,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWire(t)
			amzDate := date
			if tc.scope == suiteScope {
				amzDate = suiteDate
			}
			sig := refSignature(tc.canon, amzDate, tc.scope, testSecret)
			if tc.sig != "" && sig != tc.sig {
				t.Fatalf("reference signer gives %s, AWS publishes %s", sig, tc.sig)
			}
			authz := "Authorization: AWS4-HMAC-SHA256 Credential=" + testAKID + "/" + tc.scope +
				", SignedHeaders=" + tc.signed + ", Signature=" + sig
			got, ok := w.sendRaw(t, []byte(strings.Replace(tc.raw, "AUTH", authz, 1)))
			if !ok {
				t.Fatal("server refused the request")
			}
			now, _ := time.Parse(amzDateLayout, amzDate)
			err := verify(NewVerifier(), got, testSecret, now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("verify: %v\nwant canonical request:\n%s", err, tc.canon)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.token != "" {
				msg := err.(*Error).Message
				if strings.Contains(msg, tc.token) || !strings.Contains(msg, "x-amz-security-token:REDACTED") ||
					!strings.Contains(msg, "X-Amz-Security-Token=REDACTED") {
					t.Fatalf("token not redacted in %q", msg)
				}
			}
		})
	}
}

// TestMismatchMessage pins AWS's text and the server's canonical request
// and string to sign that follow it.
func TestMismatchMessage(t *testing.T) {
	w := newWire(t)
	raw := "GET /a?b=c HTTP/1.1\r\nHost: h\r\nX-Amz-Date: 20240501T120000Z\r\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/lambda/aws4_request, " +
		"SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64) + "\r\n\r\n"
	got, _ := w.sendRaw(t, []byte(raw))
	err := verify(NewVerifier(), got, testSecret, testTime)
	canon := "GET\n/a\nb=c\nhost:h\nx-amz-date:20240501T120000Z\n\nhost;x-amz-date\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sum := sha256.Sum256([]byte(canon))
	want := "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details." +
		"\n\nThe Canonical String for this request should have been\n'" + canon +
		"'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20240501T120000Z\n" +
		"20240501/us-east-1/lambda/aws4_request\n" + hex.EncodeToString(sum[:]) + "'\n"
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrSignatureMismatch || e.Message != want {
		t.Fatalf("got %#v\nwant message %q", err, want)
	}
}

func TestNormalizedPath(t *testing.T) {
	// botocore's remove_dot_segments, case by case; TestBotocore also
	// compares against botocore itself.
	for _, tc := range []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"//", "/"},
		{"/a/b", "/a/b"},
		{"/a/b/", "/a/b/"},
		{"/a//b", "/a/b"},
		{"/a/./b", "/a/b"},
		{"/a/../b", "/b"},
		{"/..", "/"},
		{"/../a", "/a"},
		{"/a/..", "/"},
		{"/a/../", "/"},
		{"/a/b/..", "/a"},
		{"/a/b/../", "/a/"},
		{"/a/.", "/a"},
		{"/a/./", "/a/"},
		{"/.../a", "/.../a"},
		{"/a%2F../b", "/a%2F../b"},
		{"a/b", "a/b"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := string(appendNormalizedPath(nil, tc.in)); got != tc.want {
				t.Errorf("normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestPresignedContentHashParam: S3-style presigners put
// X-Amz-Content-Sha256 in the query; it is then the payload hash.
func TestPresignedContentHashParam(t *testing.T) {
	w := newWire(t)
	for _, tc := range []struct {
		value string
		want  error
	}{
		{unsignedPayload, nil},
		{hashHex([]byte("abc")), nil},
		{hashHex([]byte("xyz")), ErrContentHash},
		{"nope", ErrContentHash},
	} {
		t.Run(tc.value, func(t *testing.T) {
			query := "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=" + tc.value +
				"&X-Amz-Credential=AKIDEXAMPLE%2F20240501%2Fus-east-1%2Flambda%2Faws4_request" +
				"&X-Amz-Date=20240501T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
			canon := "PUT\n/x\n" + query + "\nhost:h\n\nhost\n" + tc.value
			sig := refSignature(canon, "20240501T120000Z", "20240501/us-east-1/lambda/aws4_request", testSecret)
			raw := "PUT /x?" + query + "&X-Amz-Signature=" + sig + " HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
			got, ok := w.sendRaw(t, []byte(raw))
			if !ok {
				t.Fatal("server refused the request")
			}
			if err := verify(NewVerifier(), got, testSecret, testTime); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	err := error(&Error{Kind: ErrExpired, Message: "Request has expired"})
	if got, want := err.Error(), "sigv4: signature expired: Request has expired"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrExpired) || errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("errors.Is does not follow Kind")
	}
}
