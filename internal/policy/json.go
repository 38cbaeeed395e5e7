package policy

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A strict JSON reader for policy documents.
//
// encoding/json is not used for reading because it accepts what a policy
// engine must not: duplicate object names (last one wins, so two readers of
// one document can disagree on its meaning), case-insensitive field names,
// invalid UTF-8 (silently replaced) and unbounded nesting. This reader builds
// a small tree, keeps object members in document order, rejects duplicate
// names and lone surrogates, and stops at maxDepth levels of nesting, so the
// work it does is linear in the size of the input.

// jkind is the JSON type of a node.
type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNum
	jStr
	jArr
	jObj
)

// jnode is a parsed JSON value. For jStr s is the decoded string; for jNum
// the number's literal text; for jBool "true" or "false". Objects keep their
// names in keys and values in vals (same order as the document); arrays keep
// their elements in vals.
type jnode struct {
	kind jkind
	s    string
	keys []string
	vals []jnode
}

// maxDepth is the deepest nesting a valid policy needs: document, Statement
// array, statement, Condition, operator block, value array.
const maxDepth = 6

// jsonError describes where a document stopped being acceptable JSON.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

type jreader struct {
	b     []byte
	i     int
	depth int
}

// parseJSON parses b as exactly one JSON value surrounded by optional
// whitespace.
func parseJSON(b []byte) (jnode, error) {
	if !utf8.Valid(b) {
		return jnode{}, &jsonError{0, "invalid UTF-8"}
	}
	r := jreader{b: b}
	r.skipSpace()
	n, err := r.value()
	if err != nil {
		return jnode{}, err
	}
	r.skipSpace()
	if r.i != len(r.b) {
		return jnode{}, r.fail("data after the top-level value")
	}
	return n, nil
}

func (r *jreader) fail(msg string) error { return &jsonError{r.i, msg} }

func (r *jreader) skipSpace() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *jreader) value() (jnode, error) {
	if r.i >= len(r.b) {
		return jnode{}, r.fail("unexpected end of input")
	}
	switch c := r.b[r.i]; {
	case c == '{':
		return r.object()
	case c == '[':
		return r.array()
	case c == '"':
		s, err := r.str()
		return jnode{kind: jStr, s: s}, err
	case c == 't':
		return r.literal("true", jBool)
	case c == 'f':
		return r.literal("false", jBool)
	case c == 'n':
		return r.literal("null", jNull)
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	default:
		return jnode{}, r.fail(fmt.Sprintf("unexpected character %q", c))
	}
}

func (r *jreader) literal(word string, k jkind) (jnode, error) {
	if len(r.b)-r.i < len(word) || string(r.b[r.i:r.i+len(word)]) != word {
		return jnode{}, r.fail("invalid literal")
	}
	r.i += len(word)
	n := jnode{kind: k}
	if k == jBool {
		n.s = word
	}
	return n, nil
}

func (r *jreader) enter() error {
	r.depth++
	if r.depth > maxDepth {
		return r.fail("nesting too deep")
	}
	return nil
}

func (r *jreader) object() (jnode, error) {
	if err := r.enter(); err != nil {
		return jnode{}, err
	}
	r.i++ // '{'
	n := jnode{kind: jObj}
	var seen map[string]struct{}
	r.skipSpace()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		r.depth--
		return n, nil
	}
	for {
		r.skipSpace()
		if r.i >= len(r.b) || r.b[r.i] != '"' {
			return jnode{}, r.fail("expected object member name")
		}
		start := r.i
		name, err := r.str()
		if err != nil {
			return jnode{}, err
		}
		// Small objects are scanned; large ones get a set, so that a
		// hostile object with thousands of members costs linear time.
		dup := false
		if seen != nil {
			_, dup = seen[name]
			seen[name] = struct{}{}
		} else {
			for _, k := range n.keys {
				if k == name {
					dup = true
					break
				}
			}
			if len(n.keys) == 16 {
				seen = make(map[string]struct{}, 32)
				for _, k := range n.keys {
					seen[k] = struct{}{}
				}
				seen[name] = struct{}{}
			}
		}
		if dup {
			return jnode{}, &jsonError{start, fmt.Sprintf("duplicate member %q", name)}
		}
		r.skipSpace()
		if r.i >= len(r.b) || r.b[r.i] != ':' {
			return jnode{}, r.fail("expected ':'")
		}
		r.i++
		r.skipSpace()
		v, err := r.value()
		if err != nil {
			return jnode{}, err
		}
		n.keys = append(n.keys, name)
		n.vals = append(n.vals, v)
		r.skipSpace()
		if r.i >= len(r.b) {
			return jnode{}, r.fail("unexpected end of input")
		}
		switch r.b[r.i] {
		case ',':
			r.i++
		case '}':
			r.i++
			r.depth--
			return n, nil
		default:
			return jnode{}, r.fail("expected ',' or '}'")
		}
	}
}

func (r *jreader) array() (jnode, error) {
	if err := r.enter(); err != nil {
		return jnode{}, err
	}
	r.i++ // '['
	n := jnode{kind: jArr}
	r.skipSpace()
	if r.i < len(r.b) && r.b[r.i] == ']' {
		r.i++
		r.depth--
		return n, nil
	}
	for {
		r.skipSpace()
		v, err := r.value()
		if err != nil {
			return jnode{}, err
		}
		n.vals = append(n.vals, v)
		r.skipSpace()
		if r.i >= len(r.b) {
			return jnode{}, r.fail("unexpected end of input")
		}
		switch r.b[r.i] {
		case ',':
			r.i++
		case ']':
			r.i++
			r.depth--
			return n, nil
		default:
			return jnode{}, r.fail("expected ',' or ']'")
		}
	}
}

// number accepts exactly RFC 8259's grammar and keeps the literal text.
func (r *jreader) number() (jnode, error) {
	start := r.i
	if r.b[r.i] == '-' {
		r.i++
	}
	if r.i >= len(r.b) {
		return jnode{}, r.fail("invalid number")
	}
	switch {
	case r.b[r.i] == '0':
		r.i++
	case r.b[r.i] >= '1' && r.b[r.i] <= '9':
		r.digits()
	default:
		return jnode{}, r.fail("invalid number")
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if r.digits() == 0 {
			return jnode{}, r.fail("invalid number")
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if r.digits() == 0 {
			return jnode{}, r.fail("invalid number")
		}
	}
	return jnode{kind: jNum, s: string(r.b[start:r.i])}, nil
}

func (r *jreader) digits() int {
	start := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	return r.i - start
}

// str reads a string starting at the opening quote.
func (r *jreader) str() (string, error) {
	r.i++ // '"'
	start := r.i
	// Fast path: no escapes.
	for r.i < len(r.b) {
		c := r.b[r.i]
		if c == '"' {
			s := string(r.b[start:r.i])
			r.i++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", r.fail("control character in string")
		}
		r.i++
	}
	buf := append([]byte(nil), r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return string(buf), nil
		case c < 0x20:
			return "", r.fail("control character in string")
		case c != '\\':
			buf = append(buf, c)
			r.i++
			continue
		}
		r.i++ // '\\'
		if r.i >= len(r.b) {
			break
		}
		e := r.b[r.i]
		r.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			c1, ok := r.hex4()
			if !ok {
				return "", r.fail("invalid \\u escape")
			}
			ru := rune(c1)
			if utf16.IsSurrogate(ru) {
				if c1 >= 0xDC00 || len(r.b)-r.i < 2 || r.b[r.i] != '\\' || r.b[r.i+1] != 'u' {
					return "", r.fail("lone surrogate in \\u escape")
				}
				r.i += 2
				c2, ok := r.hex4()
				if !ok {
					return "", r.fail("invalid \\u escape")
				}
				ru = utf16.DecodeRune(ru, rune(c2))
				if ru == utf8.RuneError {
					return "", r.fail("lone surrogate in \\u escape")
				}
			}
			buf = utf8.AppendRune(buf, ru)
		default:
			return "", r.fail("invalid escape")
		}
	}
	return "", r.fail("unterminated string")
}

func (r *jreader) hex4() (uint16, bool) {
	if len(r.b)-r.i < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(r.b[r.i:r.i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	r.i += 4
	return uint16(v), true
}

// appendJSONString appends s as a JSON string literal. It escapes only what
// JSON requires (quote, backslash, control characters) so that policies read
// back the way they were written.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
