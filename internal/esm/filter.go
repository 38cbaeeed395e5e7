package esm

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Lambda's event-filtering pattern language (the EventBridge subset that
// Lambda documents for event source mappings). A pattern is a JSON object;
// each member names a field of the record and holds either a nested
// pattern object or a non-empty array of rules, any of which may match:
//
//	"text", 12, true, null          equality (strings exactly, numbers by value)
//	{"prefix": "s"}                  string prefix ({"prefix": {"equals-ignore-case": "s"}} too)
//	{"suffix": "s"}                  string suffix (likewise)
//	{"equals-ignore-case": "s"}      string equality under Unicode case folding
//	{"anything-but": v}              the field exists and matches none of v: a string,
//	                                 number, array of them, or a prefix, suffix or
//	                                 equals-ignore-case rule
//	{"numeric": [">", 0, "<=", 5]}   numeric comparison: one of =, <, <=, >, >=, or a
//	                                 lower and an upper bound
//	{"exists": true|false}           the field is present (a non-object value, or an
//	                                 array with at least one element) or absent
//
// An object may also hold "$or": [pattern, ...], which matches when any of
// its patterns does (together with the object's other members). All members
// of an object must match. A rule matched against an array value matches
// when any element does, and a nested pattern matched against an array
// matches when any element is an object that it matches.

// Limits on patterns, beyond the API's 4096-character Pattern.
const (
	maxPatternLength = 4096
	maxPatternDepth  = 32
)

// Pattern is a compiled filter pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	root *object
}

// object is a pattern object: every field must match, and when ors is not
// empty, one of its alternatives too.
type object struct {
	fields []field
	ors    []*object
}

// field is one member of a pattern object: a nested object or rules.
type field struct {
	key   string
	obj   *object // nested pattern, or nil
	rules []rule
}

type ruleKind int

const (
	ruleString ruleKind = iota
	ruleNumber
	ruleBool
	ruleNull
	rulePrefix
	ruleSuffix
	ruleFold
	ruleAnythingBut
	ruleNumeric
	ruleExists
)

// rule is one rule of a field's rule array.
type rule struct {
	kind ruleKind
	str  string
	num  float64
	b    bool
	fold bool // prefix/suffix under case folding
	// anything-but: the rules none of which may match.
	not []rule
	// numeric: the comparisons, all of which must hold.
	cmps []comparison
}

type comparison struct {
	op string
	n  float64
}

// ParsePattern compiles a filter pattern. Errors match ErrInvalidPattern.
func ParsePattern(src string) (*Pattern, error) {
	if len(src) > maxPatternLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidPattern, maxPatternLength)
	}
	if !utf8.ValidString(src) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrInvalidPattern)
	}
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPattern, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrInvalidPattern)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidPattern)
	}
	root, err := compileObject(m, 1)
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidPattern}, args...)...)
}

func compileObject(m map[string]any, depth int) (*object, error) {
	if depth > maxPatternDepth {
		return nil, invalid("nested deeper than %d levels", maxPatternDepth)
	}
	if len(m) == 0 {
		return nil, invalid("empty object")
	}
	o := &object{}
	for _, k := range sortedKeys(m) {
		v := m[k]
		if k == "$or" {
			alts, ok := v.([]any)
			if !ok || len(alts) == 0 {
				return nil, invalid(`"$or" must be a non-empty array of objects`)
			}
			for _, a := range alts {
				am, ok := a.(map[string]any)
				if !ok {
					return nil, invalid(`"$or" must be a non-empty array of objects`)
				}
				alt, err := compileObject(am, depth+1)
				if err != nil {
					return nil, err
				}
				o.ors = append(o.ors, alt)
			}
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			sub, err := compileObject(v, depth+1)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{key: k, obj: sub})
		case []any:
			if len(v) == 0 {
				return nil, invalid("empty rule array for %q", k)
			}
			f := field{key: k}
			for _, r := range v {
				cr, err := compileRule(r)
				if err != nil {
					return nil, err
				}
				f.rules = append(f.rules, cr)
			}
			o.fields = append(o.fields, f)
		default:
			return nil, invalid("value of %q must be an object or an array", k)
		}
	}
	return o, nil
}

func compileRule(v any) (rule, error) {
	switch v := v.(type) {
	case string:
		return rule{kind: ruleString, str: v}, nil
	case json.Number:
		n, err := number(v)
		if err != nil {
			return rule{}, err
		}
		return rule{kind: ruleNumber, num: n}, nil
	case bool:
		return rule{kind: ruleBool, b: v}, nil
	case nil:
		return rule{kind: ruleNull}, nil
	case map[string]any:
		if len(v) != 1 {
			return rule{}, invalid("an operator object must have exactly one member")
		}
		for op, arg := range v {
			return compileOperator(op, arg)
		}
	}
	return rule{}, invalid("rules must be strings, numbers, booleans, null or operator objects")
}

func number(n json.Number) (float64, error) {
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, invalid("number %s is out of range", truncate(n.String(), 32))
	}
	return f, nil
}

func compileOperator(op string, arg any) (rule, error) {
	switch op {
	case "prefix", "suffix":
		kind := rulePrefix
		if op == "suffix" {
			kind = ruleSuffix
		}
		s, fold, err := affix(op, arg)
		if err != nil {
			return rule{}, err
		}
		return rule{kind: kind, str: s, fold: fold}, nil
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return rule{}, invalid(`"equals-ignore-case" takes a string`)
		}
		return rule{kind: ruleFold, str: s}, nil
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return rule{}, invalid(`"exists" takes true or false`)
		}
		return rule{kind: ruleExists, b: b}, nil
	case "numeric":
		return compileNumeric(arg)
	case "anything-but":
		return compileAnythingBut(arg)
	}
	return rule{}, invalid("unknown operator %q", truncate(op, 32))
}

// affix reads the argument of prefix or suffix: a string, or
// {"equals-ignore-case": string}.
func affix(op string, arg any) (string, bool, error) {
	switch a := arg.(type) {
	case string:
		return a, false, nil
	case map[string]any:
		if s, ok := a["equals-ignore-case"].(string); ok && len(a) == 1 {
			return s, true, nil
		}
	}
	return "", false, invalid("%q takes a string", op)
}

func compileNumeric(arg any) (rule, error) {
	parts, ok := arg.([]any)
	if !ok || (len(parts) != 2 && len(parts) != 4) {
		return rule{}, invalid(`"numeric" takes one or two comparisons`)
	}
	r := rule{kind: ruleNumeric}
	var lower, upper, equal int
	for i := 0; i < len(parts); i += 2 {
		op, ok := parts[i].(string)
		n, isNum := parts[i+1].(json.Number)
		if !ok || !isNum {
			return rule{}, invalid(`"numeric" takes an operator and a number`)
		}
		f, err := number(n)
		if err != nil {
			return rule{}, err
		}
		switch op {
		case ">", ">=":
			lower++
		case "<", "<=":
			upper++
		case "=":
			equal++
		default:
			return rule{}, invalid("unknown numeric operator %q", truncate(op, 8))
		}
		r.cmps = append(r.cmps, comparison{op: op, n: f})
	}
	if len(parts) == 4 && (lower != 1 || upper != 1 || equal != 0) {
		return rule{}, invalid(`two "numeric" comparisons must be a lower and an upper bound`)
	}
	return r, nil
}

func compileAnythingBut(arg any) (rule, error) {
	r := rule{kind: ruleAnythingBut}
	switch a := arg.(type) {
	case string, json.Number:
		inner, err := compileRule(a)
		if err != nil {
			return rule{}, err
		}
		r.not = []rule{inner}
	case []any:
		if len(a) == 0 {
			return rule{}, invalid(`"anything-but" takes a non-empty array`)
		}
		for _, e := range a {
			switch e.(type) {
			case string, json.Number:
			default:
				return rule{}, invalid(`"anything-but" arrays hold strings or numbers`)
			}
			inner, err := compileRule(e)
			if err != nil {
				return rule{}, err
			}
			r.not = append(r.not, inner)
		}
	case map[string]any:
		if len(a) != 1 {
			return rule{}, invalid(`"anything-but" takes one operator`)
		}
		for op, v := range a {
			switch op {
			case "prefix", "suffix":
				inner, err := compileOperator(op, v)
				if err != nil {
					return rule{}, err
				}
				r.not = []rule{inner}
			case "equals-ignore-case":
				var list []any
				switch v := v.(type) {
				case string:
					list = []any{v}
				case []any:
					list = v
				}
				if len(list) == 0 {
					return rule{}, invalid(`"equals-ignore-case" takes a string or strings`)
				}
				for _, e := range list {
					s, ok := e.(string)
					if !ok {
						return rule{}, invalid(`"equals-ignore-case" takes a string or strings`)
					}
					r.not = append(r.not, rule{kind: ruleFold, str: s})
				}
			default:
				return rule{}, invalid(`"anything-but" does not take %q`, truncate(op, 32))
			}
		}
	default:
		return rule{}, invalid(`"anything-but" takes a string, a number, an array or an operator`)
	}
	return r, nil
}

// Match reports whether v, a decoded JSON value (map[string]any, []any,
// string, float64, bool or nil), matches the pattern.
func (p *Pattern) Match(v any) bool {
	return p.root.match(v)
}

// match matches an object pattern against a value: an object, or an array
// any of whose elements is an object it matches.
func (o *object) match(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return o.matchFields(func(k string) (any, bool) {
			x, ok := v[k]
			return x, ok
		})
	case []any:
		for _, e := range v {
			if o.match(e) {
				return true
			}
		}
	}
	return false
}

// matchFields matches the object against fields looked up by get.
func (o *object) matchFields(get func(key string) (any, bool)) bool {
	for i := range o.fields {
		f := &o.fields[i]
		v, ok := get(f.key)
		if !f.match(v, ok) {
			return false
		}
	}
	if len(o.ors) == 0 {
		return true
	}
	for _, alt := range o.ors {
		if alt.matchFields(get) {
			return true
		}
	}
	return false
}

// matchAbsent reports whether the object matches a missing field: every
// field inside must accept absence.
func (o *object) matchAbsent() bool {
	return o.matchFields(func(string) (any, bool) { return nil, false })
}

// match matches a field against its value (present says whether the
// record has it).
func (f *field) match(v any, present bool) bool {
	if f.obj != nil {
		if !present {
			return f.obj.matchAbsent()
		}
		return f.obj.match(v)
	}
	for i := range f.rules {
		if f.rules[i].match(v, present) {
			return true
		}
	}
	return false
}

// exists reports whether a present value counts as existing: objects
// do not (exists applies to leaves), nor do empty arrays.
func exists(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return false
	case []any:
		for _, e := range v {
			if exists(e) {
				return true
			}
		}
		return false
	}
	return true
}

func (r *rule) match(v any, present bool) bool {
	if r.kind == ruleExists {
		return r.b == (present && exists(v))
	}
	if !present {
		return false
	}
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if r.matchLeaf(e) {
				return true
			}
		}
		return false
	}
	return r.matchLeaf(v)
}

// matchLeaf matches one non-array value.
func (r *rule) matchLeaf(v any) bool {
	switch r.kind {
	case ruleString:
		s, ok := v.(string)
		return ok && s == r.str
	case ruleNumber:
		n, ok := v.(float64)
		return ok && n == r.num
	case ruleBool:
		b, ok := v.(bool)
		return ok && b == r.b
	case ruleNull:
		return v == nil
	case rulePrefix:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if r.fold {
			return strings.EqualFold(s[:foldPrefixLen(s, r.str)], r.str)
		}
		return strings.HasPrefix(s, r.str)
	case ruleSuffix:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if r.fold {
			return hasSuffixFold(s, r.str)
		}
		return strings.HasSuffix(s, r.str)
	case ruleFold:
		s, ok := v.(string)
		return ok && strings.EqualFold(s, r.str)
	case ruleAnythingBut:
		if _, isObj := v.(map[string]any); isObj {
			return false
		}
		for i := range r.not {
			if r.not[i].matchLeaf(v) {
				return false
			}
		}
		return true
	case ruleNumeric:
		n, ok := v.(float64)
		if !ok {
			return false
		}
		for _, c := range r.cmps {
			if !c.holds(n) {
				return false
			}
		}
		return true
	}
	return false
}

func (c comparison) holds(n float64) bool {
	switch c.op {
	case "=":
		return n == c.n
	case "<":
		return n < c.n
	case "<=":
		return n <= c.n
	case ">":
		return n > c.n
	case ">=":
		return n >= c.n
	}
	return false
}

// foldPrefixLen is the byte length of the prefix of s that has as many
// runes as prefix: strings.EqualFold folds rune by rune, so only a prefix
// of that many runes can equal it.
func foldPrefixLen(s, prefix string) int {
	want := utf8.RuneCountInString(prefix)
	i := 0
	for n := 0; n < want && i < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

func hasSuffixFold(s, suffix string) bool {
	want := utf8.RuneCountInString(suffix)
	i := len(s)
	for n := 0; n < want && i > 0; n++ {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return strings.EqualFold(s[i:], suffix)
}

// filterSet is a compiled FilterCriteria: a record is processed when any
// pattern matches it, and when there are no patterns.
type filterSet []*Pattern

// compileFilters compiles the patterns of a mapping.
func compileFilters(patterns []string) (filterSet, error) {
	out := make(filterSet, 0, len(patterns))
	for _, p := range patterns {
		c, err := ParsePattern(p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// sortedKeys returns m's keys in order, so that compiling is deterministic.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
