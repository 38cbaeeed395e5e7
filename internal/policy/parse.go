package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on what Parse accepts. AWS's own quotas (2 KiB for an inline user
// policy, 20 KiB for a Lambda function policy, ...) are smaller and are the
// caller's to enforce; these bound the parser's work on hostile input.
const (
	// MaxDocumentSize is the largest document Parse reads, in bytes.
	MaxDocumentSize = 128 << 10
	// MaxStringSize is the longest string element value, in bytes.
	MaxStringSize = 4096
)

// The policy language versions.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// ErrMalformed is matched (errors.Is) by every *ParseError.
var ErrMalformed = errors.New("policy: malformed policy document")

// ParseError is a policy document that IAM would refuse with
// MalformedPolicyDocument.
type ParseError struct {
	// Message is for the user, worded as IAM words it ("Syntax errors in
	// policy.", "Missing required field Action", ...).
	Message string
	// Detail says where the problem is, for logs and debugging
	// ("Statement[2].Effect: ..."). It may be empty.
	Detail string
}

func (e *ParseError) Error() string {
	if e.Detail != "" {
		return "policy: " + e.Message + " (" + e.Detail + ")"
	}
	return "policy: " + e.Message
}

// Unwrap makes errors.Is(err, ErrMalformed) true.
func (e *ParseError) Unwrap() error { return ErrMalformed }

// IAM's messages.
const (
	msgSyntax        = "Syntax errors in policy."
	msgLegacy        = "The policy failed legacy parsing"
	msgNoPrincipal   = "Policy document should not specify a principal."
	msgSidUnique     = "Statement IDs (SID) in a single policy must be unique."
	msgSidAlnum      = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
	msgNoActions     = "Policy statement must contain actions."
	msgNoResources   = "Policy statement must contain resources."
	msgVendor        = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgOneColon      = "Actions/Condition can contain only one colon."
	msgMissingPrefix = "Missing required field "
)

func syntaxError(detail string) *ParseError { return &ParseError{Message: msgSyntax, Detail: detail} }

func tooLarge() *ParseError {
	return &ParseError{Message: fmt.Sprintf("Policy document exceeds the maximum size of %d bytes.", MaxDocumentSize)}
}

// Parse validates and compiles a policy document of kind k. A document IAM
// would refuse yields a *ParseError whose Message is IAM's wording.
func Parse(doc []byte, k Kind) (*Policy, error) {
	if !k.valid() {
		return nil, fmt.Errorf("policy: invalid kind %v", k)
	}
	if len(doc) > MaxDocumentSize {
		return nil, tooLarge()
	}
	root, err := parseJSON(doc)
	if err != nil {
		return nil, syntaxError(err.Error())
	}
	if root.kind != jObj {
		return nil, syntaxError("document is not a JSON object")
	}
	p := &Policy{kind: k}
	var stmtNode *jnode
	for i, name := range root.keys {
		v := &root.vals[i]
		switch name {
		case "Version":
			if v.kind != jStr || (v.s != Version2012 && v.s != Version2008) {
				return nil, syntaxError("Version must be \"2012-10-17\" or \"2008-10-17\"")
			}
			p.version = v.s
		case "Id":
			if v.kind != jStr {
				return nil, syntaxError("Id must be a string")
			}
			if len(v.s) > MaxStringSize {
				return nil, syntaxError("Id is too long")
			}
			p.id, p.hasID = v.s, true
		case "Statement":
			stmtNode = v
		default:
			return nil, syntaxError(fmt.Sprintf("unknown element %q", name))
		}
	}
	if stmtNode == nil {
		return nil, &ParseError{Message: msgMissingPrefix + "Statement"}
	}
	ps := parser{kind: k, vars: p.version == Version2012}
	var list []jnode
	switch stmtNode.kind {
	case jObj:
		list, p.stmtSingle = []jnode{*stmtNode}, true
	case jArr:
		list = stmtNode.vals
	default:
		return nil, syntaxError("Statement must be an object or an array")
	}
	if len(list) == 0 {
		return nil, syntaxError("Statement is empty")
	}
	sids := make(map[string]bool, len(list))
	for i := range list {
		s, err := ps.statement(list[i], i)
		if err != nil {
			return nil, err
		}
		if s.sid != "" {
			if sids[s.sid] {
				return nil, &ParseError{Message: msgSidUnique, Detail: fmt.Sprintf("Sid %q", s.sid)}
			}
			sids[s.sid] = true
		}
		p.stmts = append(p.stmts, s)
	}
	return p, nil
}

// parser holds what statement parsing depends on.
type parser struct {
	kind Kind
	vars bool // policy variables are enabled (Version 2012-10-17)
}

func (ps *parser) statement(n jnode, idx int) (*statement, error) {
	at := fmt.Sprintf("Statement[%d]", idx)
	if n.kind != jObj {
		return nil, syntaxError(at + " is not an object")
	}
	s := &statement{}
	var principal, notPrincipal, action, notAction, resource, notResource, cond *jnode
	for i, name := range n.keys {
		v := &n.vals[i]
		switch name {
		case "Sid":
			if v.kind != jStr {
				return nil, syntaxError(at + ".Sid must be a string")
			}
			s.sid, s.hasSid = v.s, true
		case "Effect":
			if v.kind != jStr {
				return nil, syntaxError(at + ".Effect must be a string")
			}
			switch v.s {
			case "Allow":
				s.effect = effectAllow
			case "Deny":
				s.effect = effectDeny
			default:
				if strings.EqualFold(v.s, "Allow") || strings.EqualFold(v.s, "Deny") {
					return nil, &ParseError{Message: msgLegacy, Detail: at + ".Effect is case-sensitive"}
				}
				return nil, syntaxError(fmt.Sprintf("%s.Effect %q is not Allow or Deny", at, v.s))
			}
		case "Principal":
			principal = v
		case "NotPrincipal":
			notPrincipal = v
		case "Action":
			action = v
		case "NotAction":
			notAction = v
		case "Resource":
			resource = v
		case "NotResource":
			notResource = v
		case "Condition":
			cond = v
		default:
			return nil, syntaxError(fmt.Sprintf("%s: unknown element %q", at, name))
		}
	}
	if s.hasSid {
		if err := ps.checkSid(s.sid, at); err != nil {
			return nil, err
		}
	}
	if s.effect == 0 {
		return nil, &ParseError{Message: msgMissingPrefix + "Effect", Detail: at}
	}

	// Principal.
	if principal != nil && notPrincipal != nil {
		return nil, syntaxError(at + " has both Principal and NotPrincipal")
	}
	pn := principal
	if notPrincipal != nil {
		pn, s.notPrincipal = notPrincipal, true
	}
	switch {
	case pn != nil && !ps.kind.hasPrincipal():
		return nil, &ParseError{Message: msgNoPrincipal, Detail: at}
	case pn == nil && ps.kind.hasPrincipal():
		return nil, &ParseError{Message: msgMissingPrefix + "Principal", Detail: at}
	case pn != nil:
		spec, err := parsePrincipal(*pn, at)
		if err != nil {
			return nil, err
		}
		s.principal = spec
	}

	// Action.
	if action != nil && notAction != nil {
		return nil, syntaxError(at + " has both Action and NotAction")
	}
	an := action
	if notAction != nil {
		an, s.notAction = notAction, true
	}
	if an == nil {
		return nil, &ParseError{Message: msgMissingPrefix + "Action", Detail: at}
	}
	list, err := stringList(*an, at+".Action")
	if err != nil {
		return nil, err
	}
	if len(list.vals) == 0 {
		return nil, &ParseError{Message: msgNoActions, Detail: at}
	}
	s.action = list
	for _, a := range list.vals {
		pat, err := compileAction(a)
		if err != nil {
			err.Detail = at + ".Action"
			return nil, err
		}
		s.actions = append(s.actions, pat)
	}

	// Resource.
	if resource != nil && notResource != nil {
		return nil, syntaxError(at + " has both Resource and NotResource")
	}
	rn := resource
	if notResource != nil {
		rn, s.notResource = notResource, true
	}
	switch {
	case ps.kind == Trust && rn != nil:
		field := "Resource"
		if s.notResource {
			field = "NotResource"
		}
		return nil, &ParseError{Message: "Has prohibited field " + field, Detail: at}
	case ps.kind == Trust:
	case rn == nil:
		return nil, &ParseError{Message: msgMissingPrefix + "Resource", Detail: at}
	default:
		list, err := stringList(*rn, at+".Resource")
		if err != nil {
			return nil, err
		}
		if len(list.vals) == 0 {
			return nil, &ParseError{Message: msgNoResources, Detail: at}
		}
		s.resource, s.hasResource = list, true
		for _, r := range list.vals {
			pat, err := ps.compileResource(r)
			if err != nil {
				err.Detail = at + ".Resource"
				return nil, err
			}
			s.resources = append(s.resources, pat)
		}
	}

	// Condition.
	if cond != nil {
		blocks, err := ps.conditions(*cond, at+".Condition")
		if err != nil {
			return nil, err
		}
		s.hasCondition, s.conds = true, blocks
	}
	return s, nil
}

func (ps *parser) checkSid(sid, at string) error {
	if len(sid) > MaxStringSize {
		return syntaxError(at + ".Sid is too long")
	}
	if ps.kind == Resource {
		// Resource-based policies (Lambda, S3, ...) allow more than IAM's
		// alphanumerics; control characters are still refused.
		for _, r := range sid {
			if r < 0x20 || r == 0x7f {
				return syntaxError(at + ".Sid has a control character")
			}
		}
		return nil
	}
	for i := 0; i < len(sid); i++ {
		c := sid[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return &ParseError{Message: msgSidAlnum, Detail: at + ".Sid"}
		}
	}
	return nil
}

// stringList reads a string or a non-nested array of strings.
func stringList(n jnode, at string) (strList, error) {
	switch n.kind {
	case jStr:
		if len(n.s) > MaxStringSize {
			return strList{}, syntaxError(at + " value is too long")
		}
		return strList{vals: []string{n.s}, single: true}, nil
	case jArr:
		l := strList{vals: make([]string, 0, len(n.vals))}
		for i := range n.vals {
			e := &n.vals[i]
			if e.kind != jStr {
				return strList{}, syntaxError(at + " must hold only strings")
			}
			if len(e.s) > MaxStringSize {
				return strList{}, syntaxError(at + " value is too long")
			}
			l.vals = append(l.vals, e.s)
		}
		return l, nil
	}
	return strList{}, syntaxError(at + " must be a string or an array of strings")
}

// compileAction validates "vendor:Action" (wildcards allowed in the action
// part) or "*".
func compileAction(a string) (pattern, *ParseError) {
	if a == "*" {
		p, _ := compilePattern(a, true, false)
		return p, nil
	}
	vendor, name, ok := strings.Cut(a, ":")
	if !ok {
		return pattern{}, &ParseError{Message: msgVendor}
	}
	if strings.Contains(name, ":") {
		return pattern{}, &ParseError{Message: msgOneColon}
	}
	if !validVendor(vendor) {
		return pattern{}, &ParseError{Message: fmt.Sprintf("Vendor %s is not valid", vendor)}
	}
	if name == "" {
		return pattern{}, &ParseError{Message: fmt.Sprintf("Action %s is not valid", a)}
	}
	p, _ := compilePattern(a, true, false)
	return p, nil
}

// compileResource validates a Resource value: "*" or an ARN. As in IAM, an
// ARN may stop after the service part when the rest is a wildcard
// ("arn:aws:lambda:*"), but one that skips parts with "::" must have all six.
func (ps *parser) compileResource(r string) (pattern, *ParseError) {
	if r != "*" {
		parts := strings.SplitN(r, ":", 4)
		if len(parts) < 4 || parts[0] != "arn" {
			return pattern{}, &ParseError{Message: fmt.Sprintf("Resource %s must be in ARN format or \"*\".", r)}
		}
		if parts[1] == "" || parts[2] == "" {
			return pattern{}, &ParseError{Message: "Resource vendor must be fully qualified and cannot contain regexes."}
		}
		if strings.Contains(r, "::") && strings.Count(r, ":") < 5 {
			return pattern{}, &ParseError{Message: msgLegacy}
		}
	}
	p, msg := compilePattern(r, true, ps.vars)
	if msg != "" {
		return pattern{}, &ParseError{Message: "Invalid policy variable in resource " + r}
	}
	return p, nil
}

func parsePrincipal(n jnode, at string) (*principalSpec, error) {
	ps := &principalSpec{}
	if n.kind == jStr {
		if n.s != "*" {
			return nil, &ParseError{Message: fmt.Sprintf("Invalid principal in policy: %q", n.s), Detail: at}
		}
		ps.star, ps.anyone = true, true
		return ps, nil
	}
	if n.kind != jObj {
		return nil, syntaxError(at + ".Principal must be \"*\" or an object")
	}
	if len(n.keys) == 0 {
		return nil, syntaxError(at + ".Principal is empty")
	}
	for i, typ := range n.keys {
		list, err := stringList(n.vals[i], at+".Principal."+typ)
		if err != nil {
			return nil, err
		}
		if len(list.vals) == 0 {
			return nil, syntaxError(at + ".Principal." + typ + " is empty")
		}
		for _, v := range list.vals {
			if !ps.add(typ, v) {
				return nil, &ParseError{Message: fmt.Sprintf("Invalid principal in policy: %q:%q", typ, v), Detail: at}
			}
		}
		ps.entries = append(ps.entries, principalEntry{typ: typ, vals: list})
	}
	return ps, nil
}

func (ps *parser) conditions(n jnode, at string) ([]condBlock, error) {
	if n.kind != jObj {
		return nil, syntaxError(at + " must be an object")
	}
	blocks := make([]condBlock, 0, len(n.keys))
	for i, name := range n.keys {
		op, set, ifExists, ok := parseOperator(name)
		if !ok {
			return nil, &ParseError{Message: "Invalid Condition type : " + name, Detail: at}
		}
		body := &n.vals[i]
		if body.kind != jObj {
			return nil, syntaxError(at + "." + name + " must be an object")
		}
		blk := condBlock{name: name, op: op, set: set, ifExists: ifExists}
		for j, key := range body.keys {
			c, err := ps.condition(op, name, key, body.vals[j], at+"."+name)
			if err != nil {
				return nil, err
			}
			blk.conds = append(blk.conds, c)
		}
		blocks = append(blocks, blk)
	}
	return blocks, nil
}

func (ps *parser) condition(op operator, opName, key string, n jnode, at string) (condition, error) {
	vendor, rest, ok := strings.Cut(key, ":")
	if !ok || !validVendor(vendor) || rest == "" {
		return condition{}, &ParseError{Message: msgVendor, Detail: at}
	}
	if len(key) > MaxStringSize {
		return condition{}, syntaxError(at + " key is too long")
	}
	c := condition{key: key, keyLC: strings.ToLower(key)}
	switch n.kind {
	case jStr, jNum, jBool:
		c.vals, c.single = []scalar{{s: n.s, kind: n.kind}}, true
	case jArr:
		if len(n.vals) == 0 {
			return condition{}, syntaxError(at + "." + key + " has no values")
		}
		for i := range n.vals {
			e := &n.vals[i]
			if e.kind != jStr && e.kind != jNum && e.kind != jBool {
				return condition{}, syntaxError(at + "." + key + " values must be strings, numbers or booleans")
			}
			c.vals = append(c.vals, scalar{s: e.s, kind: e.kind})
		}
	default:
		return condition{}, syntaxError(at + "." + key + " must be a value or an array of values")
	}
	for _, v := range c.vals {
		if len(v.s) > MaxStringSize {
			return condition{}, syntaxError(at + "." + key + " value is too long")
		}
		if err := ps.compileValue(&c, op.base, v.s); err != "" {
			msg := fmt.Sprintf("Invalid value %q for condition operator %s.", v.s, opName)
			if isDateOp(op.base) {
				msg = msgLegacy
			}
			return condition{}, &ParseError{Message: msg, Detail: at + "." + key + ": " + err}
		}
	}
	return c, nil
}

func isDateOp(b opBase) bool { return b >= opDateEquals && b <= opDateGreaterThanEquals }

// compileValue adds one policy value to c, compiled for the operator. It
// returns why the value is unacceptable, or "".
func (ps *parser) compileValue(c *condition, base opBase, v string) string {
	switch {
	case base == opStringEquals, base == opStringEqualsIgnoreCase, base == opStringLike, base == opBool:
		p, msg := compilePattern(v, base == opStringLike, ps.vars)
		if msg != "" {
			return msg
		}
		if base == opBool && !p.hasVar && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return "not a boolean"
		}
		c.strs = append(c.strs, p)
		c.hasVar = c.hasVar || p.hasVar
	case base == opARN:
		a, msg := compileARNPattern(v, ps.vars)
		if msg != "" {
			return msg
		}
		c.arns = append(c.arns, a)
		for i := range a.parts {
			c.hasVar = c.hasVar || a.parts[i].hasVar
		}
	case base >= opNumericEquals && base <= opNumericGreaterThanEquals:
		n, ok := parseNumber(v)
		if !ok {
			return "not a number"
		}
		c.nums = append(c.nums, n)
	case isDateOp(base):
		t, ok := parseDate(v)
		if !ok {
			return "not an ISO 8601 date or epoch time"
		}
		c.times = append(c.times, t)
	case base == opBinaryEquals:
		b, ok := decodeBase64(v)
		if !ok {
			return "not base64"
		}
		c.bins = append(c.bins, b)
	case base == opIPAddress:
		p, ok := parseIPValue(v)
		if !ok {
			return "not an IP address or CIDR block"
		}
		c.ips = append(c.ips, p)
	case base == opNull:
		switch {
		case strings.EqualFold(v, "true"):
			c.null = true
		case strings.EqualFold(v, "false"):
		default:
			return "Null takes true or false"
		}
		if len(c.vals) > 1 {
			return "Null takes a single value"
		}
	}
	return ""
}
