package sigv4

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/httpbinding"
)

// signSpec is one request a client signs.
type signSpec struct {
	name    string
	method  string
	path    string      // escaped path, as the SDK's serializer sets it
	query   string      // the signer rewrites it into canonical form
	headers [][2]string // added in order, so a name given twice has two values
	body    []byte
	token   string
	// contentHash is sent as X-Amz-Content-Sha256 and signed as the
	// payload hash; empty means the SDK's default, the body's hash.
	contentHash string
	presign     bool
	expires     string // X-Amz-Expires, presigned only
	// presignHash is the payload hash a presigner signs ("" = body hash).
	presignHash string
}

const arnPath = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/invocations"

func (s signSpec) build(t testing.TB, at time.Time) *http.Request {
	t.Helper()
	req := sdkRequest(t, s.method, s.path, s.query, s.body)
	for _, h := range s.headers {
		req.Header.Add(h[0], h[1])
	}
	if s.presign {
		q := req.URL.Query()
		if s.expires != "" {
			q.Set("X-Amz-Expires", s.expires)
		}
		req.URL.RawQuery = q.Encode()
		hash := s.presignHash
		if hash == "" {
			hash = hashHex(s.body)
		}
		return sdkPresign(t, req, s.body, hash, s.token, at)
	}
	hash := hashHex(s.body)
	if s.contentHash != "" {
		hash = s.contentHash
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	sdkSign(t, req, hash, s.token, at)
	return req
}

// bodySigned reports whether changing the body must break verification.
func (s signSpec) bodySigned() bool {
	if s.presign {
		return s.presignHash != unsignedPayload
	}
	return s.contentHash != unsignedPayload
}

var sdkCases = []signSpec{
	{
		name: "invoke by ARN", method: "POST", path: arnPath, query: "Qualifier=%24LATEST",
		headers: [][2]string{{"Content-Type", "application/octet-stream"}, {"X-Amz-Invocation-Type", "RequestResponse"},
			{"X-Amz-Log-Type", "Tail"}, {"Amz-Sdk-Invocation-Id", "6f1c0e2a-0b1c-4d5e-8f90-123456789abc"},
			{"Amz-Sdk-Request", "attempt=1; max=3"}},
		body: []byte(`{"hello":"world"}`),
	},
	{name: "invoke with session token", method: "POST", path: arnPath, body: []byte(`{}`), token: "FwoGZXIvYXdzEJr//////////wEaDO+token/with+signs=="},
	{name: "list with spaces and plus in query", method: "GET", path: "/2015-03-31/functions/", query: "MaxItems=10&Marker=a%20b%2Bc%26d"},
	{name: "repeated query keys", method: "DELETE", path: "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af", query: "tagKeys=b&tagKeys=a&tagKeys=a%20b&tagKeys=%C3%A9"},
	{name: "key without value and empty value", method: "GET", path: "/", query: "flag&empty=&x=1"},
	{name: "unicode and space in path", method: "GET", path: "/2015-03-31/functions/" + httpbinding.EscapePath("fn é ✓:+=", true) + "/configuration"},
	{name: "empty path", method: "GET", path: ""},
	{name: "inner spaces and repeated header", method: "PUT", path: "/x",
		headers: [][2]string{{"X-Custom", "a   b    c"}, {"X-Multi", "1"}, {"X-Multi", "two  words"}}, body: []byte("payload")},
	{name: "signed content sha256", method: "PUT", path: "/x", body: []byte("abc"), contentHash: hashHex([]byte("abc"))},
	{name: "unsigned payload", method: "PUT", path: "/x", body: []byte("abc"), contentHash: unsignedPayload},
	{name: "presigned GET", method: "GET", path: arnPath, query: "Qualifier=1", presign: true, expires: "300", token: "tok/en+=="},
	{name: "presigned without expires, body hash", method: "POST", path: arnPath, body: []byte(`{"a":1}`), presign: true},
	{name: "presigned unsigned payload", method: "PUT", path: "/upload", body: []byte("data"), presign: true, expires: "604800", presignHash: unsignedPayload},
}

func TestSDKSignedRequestsVerify(t *testing.T) {
	w := newWire(t)
	v := NewVerifier()
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			got := w.send(t, tc.build(t, testTime))
			if err := verify(v, got, testSecret, testTime.Add(time.Minute)); err != nil {
				t.Fatalf("verify: %v", err)
			}
		})
	}
}

// span is a part of a serialized request that a mutation may change.
type span struct {
	what       string
	start, end int
	want       error // the sentinel a change here must produce; nil: any
}

// requestSpans finds, in a request as serialized on the wire, the method,
// path, query, each signed header value and the body.
func requestSpans(t testing.TB, raw []byte, s signSpec, signed []string) []span {
	t.Helper()
	sp1 := bytes.IndexByte(raw, ' ')
	sp2 := sp1 + 1 + bytes.IndexByte(raw[sp1+1:], ' ')
	spans := []span{{what: "method", start: 0, end: sp1, want: ErrSignatureMismatch}}
	target := raw[sp1+1 : sp2]
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		spans = append(spans, span{what: "path", start: sp1 + 1, end: sp1 + 1 + q, want: ErrSignatureMismatch})
		rawQ := string(target[q+1:])
		off := sp1 + 1 + q + 1
		for _, seg := range strings.Split(rawQ, "&") {
			name, _, _ := strings.Cut(seg, "=")
			var want error = ErrSignatureMismatch
			switch name {
			case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires":
				want = nil // fails one way or another; see TestSDKDateChanges
			}
			spans = append(spans, span{what: "query " + name, start: off, end: off + len(seg), want: want})
			off += len(seg) + 1
		}
	} else {
		spans = append(spans, span{what: "path", start: sp1 + 1, end: sp2, want: ErrSignatureMismatch})
	}
	headEnd := bytes.Index(raw, []byte("\r\n\r\n"))
	lines := raw[:headEnd]
	pos := bytes.Index(lines, []byte("\r\n")) + 2
	for pos < headEnd {
		end := pos + bytes.Index(raw[pos:], []byte("\r\n"))
		if end < pos {
			end = headEnd
		}
		name, value, _ := bytes.Cut(raw[pos:end], []byte(":"))
		lname := strings.ToLower(string(name))
		vstart := end - len(value) + (len(value) - len(bytes.TrimLeft(value, " ")))
		for _, sh := range signed {
			if sh != lname || lname == "content-length" {
				continue
			}
			want := ErrSignatureMismatch
			if lname == "x-amz-content-sha256" || lname == "x-amz-date" {
				want = nil // fails one way or another; see TestSDKDateChanges
			}
			spans = append(spans, span{what: "header " + lname, start: vstart, end: end, want: want})
		}
		pos = end + 2
	}
	if headEnd+4 < len(raw) {
		if s.bodySigned() {
			want := ErrSignatureMismatch
			if s.contentHash != "" {
				want = ErrContentHash
			}
			spans = append(spans, span{what: "body", start: headEnd + 4, end: len(raw), want: want})
		}
	}
	return spans
}

// mutateAt returns raw with the byte at i changed to a different byte of
// the same class, so that the request stays well-formed.
func mutateAt(raw []byte, i int) []byte {
	out := bytes.Clone(raw)
	switch c := out[i]; {
	case c == '9':
		out[i] = '8'
	case c == 'z' || c == 'Z':
		out[i] = c - 1
	case '0' <= c && c <= '8', 'a' <= c && c <= 'y', 'A' <= c && c <= 'Y':
		out[i] = c + 1
	default:
		out[i] = 'x'
	}
	return out
}

// stablePos picks a byte in [start, end) to mutate: the last letter or digit
// that is not inside a %XX escape (changing one of those can merely flip the
// hex case, which means the same thing).
func stablePos(raw []byte, start, end int) int {
	for i := end - 1; i >= start; i-- {
		c := raw[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		inEscape := i-1 >= start && raw[i-1] == '%' || i-2 >= start && raw[i-2] == '%'
		if alnum && !inEscape {
			return i
		}
	}
	return -1
}

func TestSDKMutationsFail(t *testing.T) {
	w := newWire(t)
	v := NewVerifier()
	now := testTime.Add(time.Minute)
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			raw := serialize(t, tc.build(t, testTime))
			got, ok := w.sendRaw(t, raw)
			if !ok {
				t.Fatal("server refused the unmodified request")
			}
			a, err := Parse(got.r)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for _, sp := range requestSpans(t, raw, tc, a.SignedHeaders) {
				i := stablePos(raw, sp.start, sp.end)
				if i < 0 {
					continue
				}
				t.Run(sp.what, func(t *testing.T) {
					got, ok := w.sendRaw(t, mutateAt(raw, i))
					if !ok {
						t.Fatalf("server refused the mutated request")
					}
					err := verify(v, got, testSecret, now)
					if err == nil || sp.want != nil && !errors.Is(err, sp.want) {
						t.Errorf("changing %q at %d: got %v, want %v", raw[i], i, err, sp.want)
					}
				})
			}
			t.Run("secret", func(t *testing.T) {
				if err := verify(v, got, testSecret+"x", now); !errors.Is(err, ErrSignatureMismatch) {
					t.Errorf("wrong secret: got %v", err)
				}
			})
			t.Run("signature", func(t *testing.T) {
				a2 := *a
				sig := []byte(a.Signature)
				if sig[10] = '0'; a.Signature[10] == '0' {
					sig[10] = '1'
				}
				a2.Signature = string(sig)
				if err := v.Verify(&a2, got.r, got.body, testSecret, now); !errors.Is(err, ErrSignatureMismatch) {
					t.Errorf("changed signature: got %v", err)
				}
			})
			if !tc.bodySigned() && len(got.body) > 0 {
				t.Run("unsigned body may change", func(t *testing.T) {
					body := bytes.Clone(got.body)
					body[0] ^= 1
					if err := v.Verify(a, got.r, body, testSecret, now); err != nil {
						t.Errorf("UNSIGNED-PAYLOAD request with another body: %v", err)
					}
				})
			}
		})
	}
}

// TestSDKDateChanges moves X-Amz-Date (header or query) after signing.
func TestSDKDateChanges(t *testing.T) {
	w := newWire(t)
	v := NewVerifier()
	lateAt := time.Date(2024, 5, 1, 23, 59, 50, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		presign  bool
		at, to   time.Time
		want     error
		wantText string
	}{
		{"one second later", false, testTime, testTime.Add(time.Second), ErrSignatureMismatch, msgMismatch},
		{"an hour earlier", false, testTime, testTime.Add(-time.Hour), ErrExpired, "Signature expired: 20240501T110000Z is now earlier than 20240501T115000Z (20240501T120500Z - 15 min.)"},
		{"past midnight", false, lateAt, lateAt.Add(15 * time.Second), ErrSignatureMismatch,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240501' != '20240502', from '20240502T000005Z'."},
		{"presigned one second later", true, testTime, testTime.Add(time.Second), ErrSignatureMismatch, msgMismatch},
		{"presigned past midnight", true, lateAt, lateAt.Add(15 * time.Second), ErrSignatureMismatch, "Date in Credential scope does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := signSpec{method: "POST", path: arnPath, body: []byte("{}"), presign: tc.presign, expires: "3600"}
			raw := string(serialize(t, spec.build(t, tc.at)))
			from, to := tc.at.Format(amzDateLayout), tc.to.Format(amzDateLayout)
			if !strings.Contains(raw, from) {
				t.Fatalf("no %s in %q", from, raw)
			}
			got, ok := w.sendRaw(t, []byte(strings.ReplaceAll(raw, from, to)))
			if !ok {
				t.Fatal("server refused the request")
			}
			err := verify(v, got, testSecret, tc.at.Add(5*time.Minute))
			var e *Error
			if !errors.Is(err, tc.want) || !errors.As(err, &e) || !strings.HasPrefix(e.Message, tc.wantText) {
				t.Fatalf("got %v, want %v: %q", err, tc.want, tc.wantText)
			}
		})
	}
}

// randomSpec draws a request covering what clients put on the wire.
func randomSpec(rng *rand.Rand, i int) signSpec {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	str := func(alphabet []string, max int) string {
		var b strings.Builder
		for range rng.IntN(max + 1) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	chars := strings.Split("a b c Z 0 9 - _ . ~ : / + = & % ? # @ $ ' ( ) [ ]", " ")
	chars = append(chars, " ", "  ", "é", "✓", "日本", "\x7f")
	s := signSpec{name: strconv.Itoa(i), method: pick("GET", "POST", "PUT", "DELETE", "PATCH")}
	switch rng.IntN(4) {
	case 0:
		s.path = arnPath
	case 1:
		s.path = ""
	default:
		for range 1 + rng.IntN(4) {
			s.path += "/" + httpbinding.EscapePath(str(chars, 8), true)
		}
	}
	q := url.Values{}
	for range rng.IntN(5) {
		k := pick("tagKeys", "Qualifier", "Marker", "a b", "é", "x+y")
		q.Add(k, str(chars, 6))
	}
	s.query = q.Encode()
	if rng.IntN(4) == 0 {
		s.query += "&bare"
	}
	hdrChars := []string{"a", "B", "7", " ", "  ", ",", ";", "=", "\"", "é", "/"}
	for j := range rng.IntN(4) {
		name := fmt.Sprintf("X-Custom-%d", j%2)
		s.headers = append(s.headers, [2]string{name, "v" + str(hdrChars, 10) + "v"})
	}
	if rng.IntN(2) == 0 {
		s.body = make([]byte, rng.IntN(300))
		for j := range s.body {
			s.body[j] = byte(rng.IntN(256))
		}
	}
	if rng.IntN(2) == 0 {
		s.token = "tok" + str([]string{"A", "z", "/", "+", "="}, 40)
	}
	switch rng.IntN(8) {
	case 0, 1:
		s.presign = true
		if rng.IntN(3) > 0 {
			s.expires = strconv.Itoa(60 + rng.IntN(604800-60))
		}
		if rng.IntN(3) == 0 {
			s.presignHash = unsignedPayload
		}
	case 2:
		s.contentHash = hashHex(s.body)
	case 3:
		s.contentHash = unsignedPayload
	}
	return s
}

// TestSDKRandomized signs random requests; every one verifies and every
// one-byte change to a signed part fails.
func TestSDKRandomized(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	w := newWire(t)
	v := NewVerifier()
	n := 150
	if testing.Short() {
		n = 30
	}
	for i := range n {
		spec := randomSpec(rng, i)
		signedAt := testTime.Add(time.Duration(rng.IntN(48*3600)) * time.Second)
		now := signedAt.Add(time.Duration(rng.IntN(29*60)-14*60) * time.Second)
		if spec.presign {
			now = signedAt.Add(time.Duration(rng.IntN(60)) * time.Second)
		}
		raw := serialize(t, spec.build(t, signedAt))
		got, ok := w.sendRaw(t, raw)
		if !ok {
			t.Fatalf("case %d: server refused %q", i, raw)
		}
		if err := verify(v, got, testSecret, now); err != nil {
			t.Fatalf("case %d %+v: %v\nrequest:\n%s", i, spec, err, raw)
		}
		a, _ := Parse(got.r)
		spans := requestSpans(t, raw, spec, a.SignedHeaders)
		for range 3 {
			sp := spans[rng.IntN(len(spans))]
			if sp.end == sp.start {
				continue
			}
			j := sp.start + rng.IntN(sp.end-sp.start)
			mutated := bytes.Clone(raw)
			mutated[j] ^= byte(1 + rng.IntN(255))
			if sameQuery(raw, mutated, sp) || folded(raw, mutated, j) {
				continue
			}
			got, ok := w.sendRaw(t, mutated)
			if !ok {
				continue // the server itself refused it
			}
			if err := verify(v, got, testSecret, now); err == nil {
				t.Errorf("case %d: changing %s byte %d (%q -> %q) still verifies\n%s", i, sp.what, j, raw[j], mutated[j], mutated)
			}
		}
	}
}

// folded reports whether the mutation at j turned a space or tab of a
// header value into a line break before more space: an obsolete line fold,
// which HTTP reads as the space it replaced (net/http joins the lines), and
// SigV4 collapses runs of spaces anyway; it must and does still verify.
func folded(raw, mutated []byte, j int) bool {
	return (raw[j] == ' ' || raw[j] == '\t') && mutated[j] == '\n' &&
		j+1 < len(raw) && (raw[j+1] == ' ' || raw[j+1] == '\t')
}

// sameQuery reports whether a query mutation left the meaning intact (a
// hex digit's case in an escape), which must and does still verify.
func sameQuery(raw, mutated []byte, sp span) bool {
	if !strings.HasPrefix(sp.what, "query") {
		return false
	}
	q1, err1 := url.ParseQuery(string(raw[sp.start:sp.end]))
	q2, err2 := url.ParseQuery(string(mutated[sp.start:sp.end]))
	return err1 == nil && err2 == nil && fmt.Sprint(q1) == fmt.Sprint(q2)
}
