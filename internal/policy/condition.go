package policy

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// opBase is a condition operator family member without its negation, set
// operator or IfExists suffix.
type opBase uint8

const (
	opStringEquals opBase = iota + 1
	opStringEqualsIgnoreCase
	opStringLike
	opNumericEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opBinaryEquals
	opIPAddress
	opARN // ArnEquals and ArnLike behave the same: both take wildcards per ARN part.
	opNull
)

type operator struct {
	base    opBase
	negated bool
}

// operators maps each operator name (without ForAnyValue:/ForAllValues: or
// IfExists) to what it does. Names are case-sensitive, as in IAM.
var operators = map[string]operator{
	"StringEquals":              {opStringEquals, false},
	"StringNotEquals":           {opStringEquals, true},
	"StringEqualsIgnoreCase":    {opStringEqualsIgnoreCase, false},
	"StringNotEqualsIgnoreCase": {opStringEqualsIgnoreCase, true},
	"StringLike":                {opStringLike, false},
	"StringNotLike":             {opStringLike, true},
	"NumericEquals":             {opNumericEquals, false},
	"NumericNotEquals":          {opNumericEquals, true},
	"NumericLessThan":           {opNumericLessThan, false},
	"NumericLessThanEquals":     {opNumericLessThanEquals, false},
	"NumericGreaterThan":        {opNumericGreaterThan, false},
	"NumericGreaterThanEquals":  {opNumericGreaterThanEquals, false},
	"DateEquals":                {opDateEquals, false},
	"DateNotEquals":             {opDateEquals, true},
	"DateLessThan":              {opDateLessThan, false},
	"DateLessThanEquals":        {opDateLessThanEquals, false},
	"DateGreaterThan":           {opDateGreaterThan, false},
	"DateGreaterThanEquals":     {opDateGreaterThanEquals, false},
	"Bool":                      {opBool, false},
	"BinaryEquals":              {opBinaryEquals, false},
	"IpAddress":                 {opIPAddress, false},
	"NotIpAddress":              {opIPAddress, true},
	"ArnEquals":                 {opARN, false},
	"ArnLike":                   {opARN, false},
	"ArnNotEquals":              {opARN, true},
	"ArnNotLike":                {opARN, true},
	"Null":                      {opNull, false},
}

// setOp is a condition set operator.
type setOp uint8

const (
	setNone setOp = iota
	setAnyValue
	setAllValues
)

// parseOperator splits a Condition block name such as
// "ForAllValues:StringLikeIfExists". ok is false for names IAM does not know.
func parseOperator(name string) (op operator, set setOp, ifExists, ok bool) {
	rest := name
	switch {
	case strings.HasPrefix(rest, "ForAnyValue:"):
		set, rest = setAnyValue, rest[len("ForAnyValue:"):]
	case strings.HasPrefix(rest, "ForAllValues:"):
		set, rest = setAllValues, rest[len("ForAllValues:"):]
	}
	if r, found := strings.CutSuffix(rest, "IfExists"); found {
		rest, ifExists = r, true
	}
	op, ok = operators[rest]
	if op.base == opNull && (set != setNone || ifExists) {
		// Null tests for presence; it takes no modifiers.
		return operator{}, 0, false, false
	}
	return op, set, ifExists, ok
}

// scalar is one condition value as written: its text and JSON type (string,
// number or boolean), kept so that a policy marshals back as it was written.
type scalar struct {
	s    string
	kind jkind
}

// condBlock is one operator of a Condition element with its keys.
type condBlock struct {
	name     string // as written, e.g. "ForAnyValue:StringLike"
	op       operator
	set      setOp
	ifExists bool
	conds    []condition
}

// condition is one key of a condition block with its values, compiled for
// the operator.
type condition struct {
	key    string // as written
	keyLC  string
	vals   []scalar
	single bool // written as a scalar rather than an array

	strs   []pattern // String*, Bool
	arns   []arnPattern
	nums   []number
	times  []time.Time
	ips    []netip.Prefix
	bins   [][]byte
	null   bool // Null: true means the key must be absent
	hasVar bool
}

// eval reports whether every key in the block satisfies the operator
// (keys are AND'd).
func (b *condBlock) eval(ec *evalCtx) bool {
	for i := range b.conds {
		if !b.evalCond(&b.conds[i], ec) {
			return false
		}
	}
	return true
}

func (b *condBlock) evalCond(c *condition, ec *evalCtx) bool {
	vals := ec.lookup(c.keyLC)
	if b.op.base == opNull {
		return (len(vals) == 0) == c.null
	}
	if len(vals) == 0 {
		switch {
		case b.ifExists:
			return true
		case b.set == setAllValues:
			return true
		case b.set == setAnyValue:
			return false
		}
		// A negated operator is satisfied by an absent key.
		return b.op.negated
	}
	// ForAllValues, and a negated operator without a set operator ("none of
	// the request's values matches any of the policy's"), need every request
	// value to pass; the others need one.
	if b.set == setAllValues || (b.set == setNone && b.op.negated) {
		for _, v := range vals {
			if !b.test(c, v, ec) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if b.test(c, v, ec) {
			return true
		}
	}
	return false
}

// test applies the operator to one request value: the policy's values are
// OR'd for a positive operator and NOR'd for a negated one. A policy value
// whose variable does not resolve matches nothing, and makes a negated
// operator fail rather than succeed.
func (b *condBlock) test(c *condition, v string, ec *evalCtx) bool {
	m := c.anyMatch(b.op.base, v, ec)
	if !b.op.negated {
		return m
	}
	return !m && c.resolves(ec)
}

func (c *condition) resolves(ec *evalCtx) bool {
	if !c.hasVar {
		return true
	}
	for i := range c.strs {
		if !c.strs[i].resolves(ec) {
			return false
		}
	}
	for i := range c.arns {
		if !c.arns[i].resolves(ec) {
			return false
		}
	}
	return true
}

// anyMatch reports whether the request value v matches any of the policy's
// values. A request value that does not parse as the operator's type
// matches none.
func (c *condition) anyMatch(base opBase, v string, ec *evalCtx) bool {
	switch base {
	case opStringEquals, opStringEqualsIgnoreCase, opBool:
		for i := range c.strs {
			s, ok := c.strs[i].render(ec)
			if !ok {
				continue
			}
			if base == opStringEquals && s == v || base != opStringEquals && strings.EqualFold(s, v) {
				return true
			}
		}
	case opStringLike:
		for i := range c.strs {
			if c.strs[i].match(v, false, ec) {
				return true
			}
		}
	case opARN:
		for i := range c.arns {
			if c.arns[i].match(v, ec) {
				return true
			}
		}
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		n, ok := parseNumber(v)
		if !ok {
			return false
		}
		for _, p := range c.nums {
			if cmpResult(base-opNumericEquals, n.cmp(p)) {
				return true
			}
		}
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, p := range c.times {
			if cmpResult(base-opDateEquals, t.Compare(p)) {
				return true
			}
		}
	case opBinaryEquals:
		raw, ok := decodeBase64(v)
		if !ok {
			return false
		}
		for _, p := range c.bins {
			if bytes.Equal(raw, p) {
				return true
			}
		}
	case opIPAddress:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.ips {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// cmpResult applies a comparison, given as the offset of the operator from
// its family's Equals (Equals, LessThan, LessThanEquals, GreaterThan,
// GreaterThanEquals), to the sign of request-value minus policy-value.
func cmpResult(rel opBase, sign int) bool {
	switch rel {
	case 0:
		return sign == 0
	case 1:
		return sign < 0
	case 2:
		return sign <= 0
	case 3:
		return sign > 0
	case 4:
		return sign >= 0
	}
	return false
}

// number is a numeric condition value: an exact integer when it fits in
// int64, otherwise a float64.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func (a number) cmp(b number) int {
	if a.isInt && b.isInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	switch {
	case a.f < b.f:
		return -1
	case a.f > b.f:
		return 1
	}
	return 0
}

// parseNumber accepts a decimal number: optional '-', digits, optional
// fraction and exponent (the JSON grammar, with leading zeros allowed).
// Infinities, NaN, hex and digit separators are not numbers here.
func parseNumber(s string) (number, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return number{}, false
	}
	intOnly := i == len(s)
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fs {
			return number{}, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		es := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == es {
			return number{}, false
		}
	}
	if i != len(s) {
		return number{}, false
	}
	if intOnly {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return number{i: n, f: float64(n), isInt: true}, true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Out of range: ParseFloat returns ±Inf with an error; the
		// comparison still orders it correctly.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return number{}, false
		}
	}
	return number{f: f}, true
}

// dateLayouts are the ISO 8601 forms accepted for dates, most common first.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseDate accepts ISO 8601 date-times (a missing zone means UTC) and
// epoch seconds.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if n, ok := epochSeconds(s); ok {
		return time.Unix(n, 0).UTC(), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func epochSeconds(s string) (int64, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// decodeBase64 decodes standard base64, padded or not.
func decodeBase64(s string) ([]byte, bool) {
	if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
		return b, true
	}
	if b, err := base64.RawStdEncoding.Strict().DecodeString(s); err == nil {
		return b, true
	}
	return nil, false
}

// parseIPValue parses an IpAddress value: a CIDR block or a single address.
func parseIPValue(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		a := p.Addr()
		if a.Is4In6() {
			bits := p.Bits() - 96
			if bits < 0 {
				return netip.Prefix{}, false
			}
			p = netip.PrefixFrom(a.Unmap(), bits)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}
