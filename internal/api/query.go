package api

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloister/cloister/internal/awserr"
)

// The AWS Query protocol, which IAM and STS speak: a form-encoded request
// (Action, Version and the operation's parameters, lists flattened as
// Name.member.N) and an XML response. This file holds the protocol's
// decoder and encoder; iam_*.go and sts.go hold the operations.

// XML namespaces of the Query services.
const (
	iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// maxFormParams bounds how many parameters one request may carry.
const maxFormParams = 10000

// errMalformedForm is a form body that does not decode.
var errMalformedForm = errors.New("api: malformed form body")

// parseForm decodes an application/x-www-form-urlencoded body (or a raw
// query string): name=value pairs separated by '&', both URL-encoded with
// '+' for space. Empty pairs are skipped; a name without '=' has an empty
// value. It refuses what a client could only send by mistake or malice:
// bad escapes, invalid UTF-8, empty or repeated names, too many pairs.
func parseForm(s string) (map[string]string, error) {
	out := map[string]string{}
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		if len(out) >= maxFormParams {
			return nil, errMalformedForm
		}
		name, value, _ := strings.Cut(pair, "=")
		n, err := url.QueryUnescape(name)
		if err != nil || n == "" || !utf8.ValidString(n) {
			return nil, errMalformedForm
		}
		v, err := url.QueryUnescape(value)
		if err != nil || !utf8.ValidString(v) {
			return nil, errMalformedForm
		}
		if _, dup := out[n]; dup {
			return nil, errMalformedForm
		}
		out[n] = v
	}
	return out, nil
}

// encodeForm is parseForm's inverse (sorted by name), for tests and the
// fuzzer.
func encodeForm(m map[string]string) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(n))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(m[n]))
	}
	return b.String()
}

// params is a decoded Query request.
type params map[string]string

// get returns a parameter ("" when absent).
func (p params) get(name string) string { return p[name] }

// has reports whether a parameter is present.
func (p params) has(name string) bool {
	_, ok := p[name]
	return ok
}

// indices returns the N of every parameter named prefix.member.N[.rest],
// checking that they run 1..count without gaps.
func (p params) indices(prefix string) (int, error) {
	head := prefix + ".member."
	seen := map[int]bool{}
	for name := range p {
		rest, ok := strings.CutPrefix(name, head)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > maxFormParams || strconv.Itoa(n) != num {
			return 0, awserr.New(awserr.Validation, "1 validation error detected: Value '%s' is not a valid member index of '%s'", truncate(name, 128), prefix)
		}
		seen[n] = true
	}
	for i := 1; i <= len(seen); i++ {
		if !seen[i] {
			return 0, awserr.New(awserr.Validation, "1 validation error detected: The members of '%s' must be numbered from 1 without gaps", prefix)
		}
	}
	return len(seen), nil
}

// list returns the list prefix.member.1, prefix.member.2, ...
func (p params) list(prefix string) ([]string, error) {
	n, err := p.indices(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		v, ok := p[prefix+".member."+strconv.Itoa(i+1)]
		if !ok {
			return nil, awserr.New(awserr.Validation, "1 validation error detected: Value null at '%s.member.%d' failed to satisfy constraint: Member must not be null", prefix, i+1)
		}
		out[i] = v
	}
	return out, nil
}

// structs returns the list of structures prefix.member.N.*: for each N,
// the prefix under which its fields are ("prefix.member.N.").
func (p params) structs(prefix string) ([]string, error) {
	n, err := p.indices(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + ".member." + strconv.Itoa(i+1) + "."
	}
	return out, nil
}

// integer reads an optional integer parameter (0 when absent).
func (p params) integer(name, member string) (int, error) {
	v, ok := p[name]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < -1<<31 || n > 1<<31-1 {
		return 0, awserr.New(awserr.Validation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be a number", truncate(v, 32), member)
	}
	return n, nil
}

// boolean reads an optional boolean parameter.
func (p params) boolean(name, member string) (bool, error) {
	switch v := p[name]; v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, awserr.New(awserr.Validation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be a boolean", truncate(v, 32), member)
	}
}

// required reads parameters that must be present.
func (p params) required(names ...string) error {
	var missing []string
	for _, n := range names {
		if _, ok := p[n]; !ok {
			missing = append(missing, "Value null at '"+lowerFirst(n)+"' failed to satisfy constraint: Member must not be null")
		}
	}
	if len(missing) == 0 {
		return nil
	}
	noun := "error"
	if len(missing) > 1 {
		noun = "errors"
	}
	return awserr.New(awserr.Validation, "%d validation %s detected: %s", len(missing), noun, strings.Join(missing, "; "))
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// xmlWriter writes an XML document element by element. Text is escaped so
// that any string, once decoded, reads back the same, except characters
// XML 1.0 cannot carry, which become U+FFFD.
type xmlWriter struct{ b []byte }

func (w *xmlWriter) start(name string) {
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *xmlWriter) end(name string) {
	w.b = append(w.b, '<', '/')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

// text writes <name>value</name>.
func (w *xmlWriter) text(name, value string) {
	w.start(name)
	w.b = appendEscaped(w.b, value)
	w.end(name)
}

// opt writes <name>value</name> unless value is empty.
func (w *xmlWriter) opt(name, value string) {
	if value != "" {
		w.text(name, value)
	}
}

func (w *xmlWriter) boolean(name string, v bool) { w.text(name, strconv.FormatBool(v)) }

func (w *xmlWriter) integer(name string, v int) { w.text(name, strconv.Itoa(v)) }

// date writes an ISO 8601 UTC timestamp, as IAM does.
func (w *xmlWriter) date(name string, t time.Time) {
	w.text(name, t.UTC().Format("2006-01-02T15:04:05Z"))
}

// list writes <name><member>...</member>...</name>.
func (w *xmlWriter) list(name string, n int, item func(i int)) {
	w.start(name)
	for i := range n {
		w.start("member")
		item(i)
		w.end("member")
	}
	w.end(name)
}

// strings writes a list of strings.
func (w *xmlWriter) strings(name string, vals []string) {
	w.list(name, len(vals), func(i int) { w.b = appendEscaped(w.b, vals[i]) })
}

// appendEscaped escapes s for XML character data and attribute values.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '&':
			b = append(b, "&amp;"...)
		case r == '<':
			b = append(b, "&lt;"...)
		case r == '>':
			b = append(b, "&gt;"...)
		case r == '"':
			b = append(b, "&quot;"...)
		case r == '\'':
			b = append(b, "&apos;"...)
		case r == '\r':
			b = append(b, "&#xD;"...)
		case r == '\n':
			b = append(b, "&#xA;"...)
		case r == '\t':
			b = append(b, "&#x9;"...)
		case !xmlChar(r) || r == utf8.RuneError && size == 1:
			b = utf8.AppendRune(b, utf8.RuneError)
		default:
			b = append(b, s[i-size:i]...)
		}
	}
	return b
}

// xmlChar reports whether XML 1.0 can carry r.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// queryResponse writes a Query protocol response: the operation's result
// (result nil means the operation has no result element) and the request
// ID.
func (c *call) queryResponse(ns, action string, result func(w *xmlWriter)) error {
	w := &xmlWriter{b: make([]byte, 0, 512)}
	w.b = append(w.b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"...)
	w.b = append(w.b, "<"+action+`Response xmlns="`+ns+`">`...)
	if result != nil {
		w.start(action + "Result")
		result(w)
		w.end(action + "Result")
	}
	w.start("ResponseMetadata")
	w.text("RequestId", c.requestID)
	w.end("ResponseMetadata")
	w.end(action + "Response")
	c.w.Header().Set("Content-Type", "text/xml")
	c.status = http.StatusOK
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(w.b)
	return nil
}

// writeQueryError is the one place where an error becomes a Query
// protocol error response.
func (s *Server) writeQueryError(c *call, ns string, err error) {
	e := awserr.As(err)
	code, status, sender := e.Query()
	if status >= 500 {
		s.log.LogAttrs(c.ctx, slog.LevelError, "request failed", slog.String("request_id", c.requestID),
			slog.String("action", actionOf(c)), slog.String("error_type", code), slog.Any("err", err))
	}
	c.errType = code
	fault := "Sender"
	if !sender {
		fault = "Receiver"
	}
	w := &xmlWriter{}
	w.b = append(w.b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"...)
	w.b = append(w.b, `<ErrorResponse xmlns="`+ns+`">`...)
	w.start("Error")
	w.text("Type", fault)
	w.text("Code", code)
	w.text("Message", e.Message)
	w.end("Error")
	w.text("RequestId", c.requestID)
	w.end("ErrorResponse")
	c.w.Header().Set("Content-Type", "text/xml")
	c.status = status
	c.w.WriteHeader(status)
	_, _ = c.w.Write(w.b)
}

// page is one page of a list, as IAM paginates: Marker and MaxItems in,
// IsTruncated and Marker out.
type page struct {
	start, end int
	marker     string // the next page's marker, "" on the last page
}

// paginate picks the page of n items that MaxItems (1-1000, default 100)
// and Marker (an opaque position from a previous page) select.
func paginate(p params, n int) (page, error) {
	maxItems := 100
	if p.has("MaxItems") {
		m, err := p.integer("MaxItems", "maxItems")
		if err != nil {
			return page{}, err
		}
		if m < 1 || m > 1000 {
			return page{}, awserr.New(awserr.Validation, "1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", m)
		}
		maxItems = m
	}
	start := 0
	if p.has("Marker") {
		m := p.get("Marker")
		v, ok := strings.CutPrefix(m, "cloister-")
		i, err := strconv.Atoi(v)
		if !ok || err != nil || i < 0 || strconv.Itoa(i) != v {
			return page{}, awserr.New(awserr.Validation, "Invalid Marker.")
		}
		start = min(i, n)
	}
	pg := page{start: start, end: min(start+maxItems, n)}
	if pg.end < n {
		pg.marker = "cloister-" + strconv.Itoa(pg.end)
	}
	return pg, nil
}

// writePage writes IsTruncated and Marker.
func (pg page) write(w *xmlWriter) {
	w.boolean("IsTruncated", pg.marker != "")
	w.opt("Marker", pg.marker)
}
