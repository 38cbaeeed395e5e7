package sigv4

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/google/go-cmp/cmp"
)

// checkError: every failure is an *Error of a known kind with a message.
func checkError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Message == "" {
		t.Fatalf("error %#v is not an *Error with a message", err)
	}
	for _, k := range []error{ErrMissingAuth, ErrIncomplete, ErrSignatureMismatch, ErrExpired, ErrContentHash} {
		if e.Kind == k {
			return
		}
	}
	t.Fatalf("error %v has an unknown kind", err)
}

// FuzzParse: any Authorization header and query string either fail with an
// *Error or give an Auth that is well formed and that re-parses to itself.
func FuzzParse(f *testing.F) {
	f.Add(goodAuth, "", "20240501T120000Z", "", "")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240501%2Fus-east-1%2Flambda%2Faws4_request"+
		"&X-Amz-Date=20240501T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ab", "", "", "")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request,SignedHeaders=host,Signature=0", "x=%zz;", "", "Wed, 01 May 2024 12:00:00 GMT", "tok")
	f.Add("AWS4-X Credential", "X-Amz-Algorith%6D=1&X-Amz-Algorithm=2", "2", "", "")
	f.Fuzz(func(t *testing.T, authz, query, amzDate, date, token string) {
		r := &http.Request{Method: "GET", Host: "h", URL: &url.URL{Path: "/", RawQuery: query},
			RequestURI: "/?" + query, Header: http.Header{}}
		for k, v := range map[string]string{"Authorization": authz, "X-Amz-Date": amzDate, "Date": date, "X-Amz-Security-Token": token} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		a, err := Parse(r)
		if err != nil {
			checkError(t, err)
			return
		}
		for _, s := range []string{a.AccessKeyID, a.Date, a.Region, a.Service} {
			if strings.Contains(s, "/") {
				t.Fatalf("scope part %q holds a '/'", s)
			}
		}
		if !slices.Contains(a.SignedHeaders, "host") {
			t.Fatalf("host not among %q", a.SignedHeaders)
		}
		for _, h := range a.SignedHeaders {
			if !validHeaderName(h) {
				t.Fatalf("signed header %q", h)
			}
		}
		// Any time in the format parses (year 1 included); the clock check
		// is Verify's.
		if a.Signature == "" || a.Time.Location() != time.UTC || a.Time.Nanosecond() != 0 {
			t.Fatalf("bad Auth %+v", a)
		}
		if a.Presigned && (a.Expires < 0 || a.Expires > MaxExpires) || !a.Presigned && a.Expires != 0 {
			t.Fatalf("expiry %v for presigned=%v", a.Expires, a.Presigned)
		}
		// Written back out, the Auth must parse to itself.
		cred := a.AccessKeyID + "/" + a.Date + "/" + a.Region + "/" + a.Service + "/" + terminator
		r2 := &http.Request{Method: "GET", Host: "h", URL: &url.URL{Path: "/"}, RequestURI: "/", Header: http.Header{}}
		if a.Presigned {
			q := url.Values{"X-Amz-Algorithm": {Algorithm}, "X-Amz-Credential": {cred}, "X-Amz-Date": {a.Time.Format(amzDateLayout)},
				"X-Amz-SignedHeaders": {strings.Join(a.SignedHeaders, ";")}, "X-Amz-Signature": {a.Signature},
				"X-Amz-Expires": {strconv.FormatInt(int64(a.Expires/time.Second), 10)}}
			if a.SessionToken != "" {
				q.Set("X-Amz-Security-Token", a.SessionToken)
			}
			r2.URL.RawQuery = q.Encode()
		} else {
			r2.Header.Set("Authorization", Algorithm+" Credential="+cred+", SignedHeaders="+strings.Join(a.SignedHeaders, ";")+", Signature="+a.Signature)
			r2.Header.Set("X-Amz-Date", a.Time.Format(amzDateLayout))
			if a.SessionToken != "" {
				r2.Header.Set("X-Amz-Security-Token", a.SessionToken)
			}
		}
		a2, err := Parse(r2)
		if err != nil {
			t.Fatalf("Auth %+v written back does not parse: %v", a, err)
		}
		if diff := cmp.Diff(a, a2); diff != "" {
			t.Fatalf("re-parsed Auth differs (-first +second):\n%s", diff)
		}
	})
}

// readRequest parses raw as Go's HTTP server does.
func readRequest(raw []byte) (received, bool) {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return received{}, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return received{}, false
	}
	return received{r: r, body: body}, true
}

// FuzzVerify: a request of random pieces signed by aws-sdk-go-v2 always
// verifies, and changing one byte of a signed part never does.
func FuzzVerify(f *testing.F) {
	f.Add(uint8(1), "2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:f/invocations", "Qualifier=1", "a  b", []byte(`{"a":1}`), uint8(0), uint16(7), uint8(1))
	f.Add(uint8(0), "é/ ✓/..//x", "tagKeys=a&tagKeys=b&k", "", []byte{}, uint8(3), uint16(100), uint8(0x20))
	f.Add(uint8(2), "", "a+b=c d&=", "v", []byte("xyz"), uint8(5), uint16(3), uint8(0x80))
	f.Add(uint8(3), "x", "", "\t", []byte("body"), uint8(9), uint16(1), uint8(0x41))
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	v := NewVerifier()
	f.Fuzz(func(t *testing.T, m uint8, path, query, hdr string, body []byte, flags uint8, mut uint16, flip uint8) {
		s := signSpec{method: methods[int(m)%len(methods)], path: httpbinding.EscapePath(path, false), body: body}
		if s.path != "" && s.path[0] != '/' {
			s.path = "/" + s.path
		}
		q := url.Values{}
		for _, kv := range strings.Split(query, "&") {
			if kv != "" {
				k, val, _ := strings.Cut(kv, "=")
				q.Add(k, val)
			}
		}
		s.query = q.Encode()
		if hdr = strings.TrimSpace(strings.Map(func(r rune) rune {
			if r < 0x20 && r != '\t' || r == 0x7f || r == 0xfffd {
				return -1
			}
			return r
		}, hdr)); hdr != "" {
			s.headers = [][2]string{{"X-Fuzz", hdr}}
		}
		if flags&2 != 0 {
			s.token = "token/+="
		}
		switch {
		case flags&1 != 0:
			s.presign, s.expires = true, "3600"
			if flags&8 != 0 {
				s.presignHash = unsignedPayload
			}
		case flags&4 != 0:
			s.contentHash = hashHex(body)
		case flags&8 != 0:
			s.contentHash = unsignedPayload
		}
		raw := serialize(t, s.build(t, testTime))
		got, ok := readRequest(raw)
		if !ok {
			t.Skipf("Go cannot read the signed request back: %q", raw)
		}
		now := testTime.Add(time.Minute)
		if err := verify(v, got, testSecret, now); err != nil {
			t.Fatalf("signed request does not verify: %v\n%q", err, raw)
		}
		if err := verify(v, got, testSecret+"x", now); !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("wrong secret: %v", err)
		}

		a, _ := Parse(got.r)
		spans := requestSpans(t, raw, s, a.SignedHeaders)
		sp := spans[int(mut)%len(spans)]
		if sp.end == sp.start || sp.what == "body" && !s.bodySigned() {
			return
		}
		i := sp.start + int(mut/uint16(len(spans)))%(sp.end-sp.start)
		mutated := bytes.Clone(raw)
		mutated[i] ^= max(flip, 1)
		if sameQuery(raw, mutated, sp) {
			return
		}
		if got, ok := readRequest(mutated); ok {
			if err := verify(v, got, testSecret, now); err == nil {
				t.Fatalf("changing %s byte %d (%q -> %q) still verifies:\n%q", sp.what, i, raw[i], mutated[i], mutated)
			} else {
				checkError(t, err)
			}
		}
	})
}
