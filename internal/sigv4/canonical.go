package sigv4

import (
	"bytes"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

const hexUpper = "0123456789ABCDEF"

// unreserved reports whether c is left as-is by SigV4's URI encoding
// (RFC 3986 unreserved characters).
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeAt decodes the query byte at s[i] as net/url does ('+' is a space)
// and returns it with the index of the next one.
func decodeAt(s string, i int) (c byte, next int, ok bool) {
	switch s[i] {
	case '+':
		return ' ', i + 1, true
	case '%':
		if i+2 >= len(s) {
			return 0, i, false
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		return hi<<4 | lo, i + 3, ok1 && ok2
	}
	return s[i], i + 1, true
}

// queryNameIs reports whether the raw query component decodes to want.
func queryNameIs(raw, want string) bool {
	if raw == want {
		return true
	}
	j := 0
	for i := 0; i < len(raw); j++ {
		c, next, ok := decodeAt(raw, i)
		if !ok || j >= len(want) || want[j] != c {
			return false
		}
		i = next
	}
	return j == len(want)
}

// scanQuery reports whether raw carries an X-Amz-Algorithm parameter, and
// refuses a query that net/url would silently drop parts of, so that what is
// signed is exactly what the API layer reads.
func scanQuery(raw string) (hasAlgorithm bool, err error) {
	for rest := raw; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "&")
		if err == nil && !decodable(seg) {
			err = newError(ErrIncomplete, "Malformed query string: '%s' is not a valid percent-encoded name=value pair.", seg)
		}
		name, _, _ := strings.Cut(seg, "=")
		hasAlgorithm = hasAlgorithm || queryNameIs(name, "X-Amz-Algorithm")
	}
	return hasAlgorithm, err
}

// decodable reports whether net/url decodes all of seg: no ';' (which it
// drops with the whole segment) and only well-formed %-escapes.
func decodable(seg string) bool {
	for i := 0; i < len(seg); {
		if seg[i] == ';' {
			return false
		}
		var ok bool
		if _, i, ok = decodeAt(seg, i); !ok {
			return false
		}
	}
	return true
}

// appendQueryComponent decodes raw (see decodable) and appends it
// URI-encoded.
func appendQueryComponent(dst []byte, raw string) []byte {
	for i := 0; i < len(raw); {
		c, next, ok := decodeAt(raw, i)
		if !ok { // not decodable: take the byte as it is
			c, next = raw[i], i+1
		}
		if unreserved(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
		}
		i = next
	}
	return dst
}

// pair is one encoded query parameter, as offsets into scratch.arena.
type pair struct{ k0, k1, v1 int }

// buildQuery re-encodes and sorts the parameters of raw into s.pairs,
// leaving out X-Amz-Signature when presigned. A segment that does not
// decode makes the whole query unverifiable.
func (s *scratch) buildQuery(raw string, presigned bool) bool {
	s.arena, s.pairs = s.arena[:0], s.pairs[:0]
	for rest := raw; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "&")
		if seg == "" {
			continue // net/url skips empty segments too
		}
		if !decodable(seg) {
			return false
		}
		name, value, _ := strings.Cut(seg, "=")
		p := pair{k0: len(s.arena)}
		s.arena = appendQueryComponent(s.arena, name)
		p.k1 = len(s.arena)
		s.arena = appendQueryComponent(s.arena, value)
		p.v1 = len(s.arena)
		if presigned && string(s.arena[p.k0:p.k1]) == "X-Amz-Signature" {
			s.arena = s.arena[:p.k0]
			continue
		}
		s.pairs = append(s.pairs, p)
	}
	arena := s.arena
	slices.SortFunc(s.pairs, func(x, y pair) int {
		if c := bytes.Compare(arena[x.k0:x.k1], arena[y.k0:y.k1]); c != 0 {
			return c
		}
		return bytes.Compare(arena[x.k1:x.v1], arena[y.k1:y.v1])
	})
	return true
}

// queryParam returns the encoded value of the first parameter named name.
func (s *scratch) queryParam(name string) ([]byte, bool) {
	for _, p := range s.pairs {
		if string(s.arena[p.k0:p.k1]) == name {
			return s.arena[p.k1:p.v1], true
		}
	}
	return nil, false
}

// appendQuery writes the canonical query string.
func (s *scratch) appendQuery(dst []byte, redact bool) []byte {
	for i, p := range s.pairs {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, s.arena[p.k0:p.k1]...)
		dst = append(dst, '=')
		if redact && string(s.arena[p.k0:p.k1]) == "X-Amz-Security-Token" {
			dst = append(dst, "REDACTED"...)
		} else {
			dst = append(dst, s.arena[p.k1:p.v1]...)
		}
	}
	return dst
}

// requestPath is the path as the client sent it: from RequestURI on server
// requests (URL.EscapedPath may re-encode it), else from the URL.
func requestPath(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" {
		return r.URL.EscapedPath()
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if uri != "" && uri[0] != '/' && uri != "*" { // absolute-form
		if _, rest, ok := strings.Cut(uri, "://"); ok {
			uri = ""
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				uri = rest[i:]
			}
		}
	}
	return uri
}

// appendEscapedPath URI-encodes every byte of p but '/' and the unreserved
// ones, as botocore and aws-sdk-go-v2 do for non-S3 services. Empty is "/".
func appendEscapedPath[T string | []byte](dst []byte, p T) []byte {
	if len(p) == 0 {
		return append(dst, '/')
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; unreserved(c) || c == '/' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return dst
}

// appendNormalizedPath applies botocore's normalisation: '.' and empty
// segments go, '..' removes the one before it, a trailing '/' stays when
// any segment does, and an empty path is "/".
func appendNormalizedPath(dst []byte, p string) []byte {
	if p == "" {
		return append(dst, '/')
	}
	if p[0] == '/' {
		dst = append(dst, '/')
	}
	base, n := len(dst), 0
	for rest := p; ; {
		seg, more, found := strings.Cut(rest, "/")
		switch seg {
		case "", ".":
		case "..":
			if n > 0 {
				dst = dst[:base+max(bytes.LastIndexByte(dst[base:], '/'), 0)]
				n--
			}
		default:
			if n > 0 {
				dst = append(dst, '/')
			}
			dst = append(dst, seg...)
			n++
		}
		if !found {
			break
		}
		rest = more
	}
	if p[len(p)-1] == '/' && n > 0 {
		dst = append(dst, '/')
	}
	return dst
}

// errHeaderAbsent: every client signs only headers it sends, so a signed
// header that is not there was removed on the way.
func errHeaderAbsent(name string) *Error {
	return newError(ErrSignatureMismatch, "%s\n\nThe signed header '%s' is not in the request.", msgMismatch, name)
}

// appendCanonicalHeaders writes "name:value\n" for each signed header.
// Go's server keeps Host and Transfer-Encoding out of r.Header; they, and
// Content-Length on requests built in-process, come from the request fields.
func appendCanonicalHeaders(dst []byte, r *http.Request, names []string, redact bool) ([]byte, error) {
	for _, name := range names {
		dst = append(dst, name...)
		dst = append(dst, ':')
		if name == "host" {
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			dst = appendHeaderValue(dst, host)
			dst = append(dst, '\n')
			continue
		}
		values := headerValues(r.Header, name)
		if len(values) == 0 {
			switch {
			case name == "content-length" && r.ContentLength >= 0:
				dst = strconv.AppendInt(dst, r.ContentLength, 10)
			case name == "transfer-encoding" && len(r.TransferEncoding) > 0:
				values = r.TransferEncoding
			default:
				return dst, errHeaderAbsent(name)
			}
		}
		for i, v := range values {
			if i > 0 {
				dst = append(dst, ',')
			}
			if redact && name == "x-amz-security-token" {
				v = "REDACTED"
			}
			dst = appendHeaderValue(dst, v)
		}
		dst = append(dst, '\n')
	}
	return dst, nil
}

// headerValues looks name up in h as Go stores it (canonical MIME form)
// without allocating for ordinary names.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h[textproto.CanonicalMIMEHeaderKey(name)]
	}
	k := buf[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case !tokenChar(c):
			return h[name] // textproto leaves such names alone
		}
		k[i] = c
		upper = c == '-'
	}
	return h[string(k)]
}

// appendHeaderValue trims v and turns each run of spaces into one, as
// SigV4's Trimall does.
func appendHeaderValue(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' && space {
			continue
		}
		space = c == ' '
		dst = append(dst, c)
	}
	return dst
}

// tokenChar reports whether c may appear in an HTTP header name (RFC 9110
// tchar).
func tokenChar(c byte) bool { return tokenChars[c] }

var tokenChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()
