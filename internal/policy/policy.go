package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is the role a policy document plays. It decides what the grammar
// allows (a Principal only where the policy is attached to a resource) and
// how AccessDenied messages name the policy.
type Kind int

// The policy kinds. The zero Kind is invalid.
const (
	// Identity is a user, group or role policy (inline or managed).
	Identity Kind = iota + 1
	// Resource is a resource-based policy, such as a Lambda function policy
	// built by AddPermission.
	Resource
	// Trust is a role trust policy (the role's resource-based policy for
	// sts:AssumeRole*). It names principals and has no Resource element.
	Trust
	// Boundary is a permissions boundary.
	Boundary
	// Guardrail is an account guardrail that acts like an Organizations
	// service control policy.
	Guardrail
	// Session is a session policy passed to AssumeRole or
	// GetFederationToken.
	Session
)

func (k Kind) String() string {
	switch k {
	case Identity:
		return "Identity"
	case Resource:
		return "Resource"
	case Trust:
		return "Trust"
	case Boundary:
		return "Boundary"
	case Guardrail:
		return "Guardrail"
	case Session:
		return "Session"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

func (k Kind) valid() bool { return k >= Identity && k <= Session }

// hasPrincipal reports whether statements of this kind name principals.
func (k Kind) hasPrincipal() bool { return k == Resource || k == Trust }

// Errors returned by the statement editing functions.
var (
	// ErrStatementNotFound means no statement has the given Sid.
	ErrStatementNotFound = errors.New("policy: statement not found")
	// ErrDuplicateSid means a statement with the same Sid already exists.
	ErrDuplicateSid = errors.New("policy: duplicate statement id")
)

// Policy is a parsed, validated and compiled policy document. It is
// immutable: it is safe to evaluate concurrently, and the editing methods
// return new policies.
type Policy struct {
	kind       Kind
	version    string // "" when the document has no Version
	id         string
	hasID      bool
	stmtSingle bool // Statement was written as an object, not an array
	stmts      []*statement
}

// Kind returns the kind the policy was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// Version returns the policy language version ("2012-10-17",
// "2008-10-17"), or "" when the document has none.
func (p *Policy) Version() string { return p.version }

// ID returns the document's Id element ("" when absent).
func (p *Policy) ID() string { return p.id }

// Len returns the number of statements.
func (p *Policy) Len() int { return len(p.stmts) }

// effect is a statement's Effect.
type effect uint8

const (
	effectAllow effect = iota + 1
	effectDeny
)

func (e effect) String() string {
	if e == effectDeny {
		return "Deny"
	}
	return "Allow"
}

// strList is a string-or-array element as written.
type strList struct {
	vals   []string
	single bool
}

type statement struct {
	sid    string
	hasSid bool
	effect effect

	principal    *principalSpec // Principal or NotPrincipal; nil if neither
	notPrincipal bool

	action    strList
	notAction bool
	actions   []pattern

	resource    strList
	hasResource bool // Resource or NotResource present (never for Trust)
	notResource bool
	resources   []pattern

	hasCondition bool
	conds        []condBlock
}

// Statement describes one statement of a policy.
type Statement struct {
	// Sid is the statement ID ("" when the statement has none).
	Sid string
	// Effect is "Allow" or "Deny".
	Effect string
	// JSON is the statement as a JSON object, in the form MarshalJSON
	// writes it.
	JSON []byte
}

// Statements lists the policy's statements in order.
func (p *Policy) Statements() []Statement {
	out := make([]Statement, len(p.stmts))
	for i, s := range p.stmts {
		out[i] = Statement{Sid: s.sid, Effect: s.effect.String(), JSON: s.appendJSON(nil)}
	}
	return out
}

// NewPolicy returns an empty policy of kind k, language version 2012-10-17,
// with the given Id ("" for none), to which AddStatement adds statements.
// Parse rejects a document with no statements, so an empty policy is only a
// starting point (Lambda deletes a function policy when its last statement
// is removed).
func NewPolicy(k Kind, id string) (*Policy, error) {
	if !k.valid() {
		return nil, fmt.Errorf("policy: invalid kind %v", k)
	}
	return &Policy{kind: k, version: Version2012, id: id, hasID: id != ""}, nil
}

// AddStatement returns a copy of p with the statement stmt (one JSON object)
// appended. The statement is validated as Parse would validate it inside p.
// A statement whose Sid is already used fails with an error that matches
// ErrDuplicateSid; a malformed one with a *ParseError.
func (p *Policy) AddStatement(stmt []byte) (*Policy, error) {
	if len(stmt) > MaxDocumentSize {
		return nil, tooLarge()
	}
	root, err := parseJSON(stmt)
	if err != nil {
		return nil, syntaxError("statement: " + err.Error())
	}
	ps := parser{kind: p.kind, vars: p.version == Version2012}
	s, err := ps.statement(root, len(p.stmts))
	if err != nil {
		return nil, err
	}
	if s.sid != "" {
		for _, o := range p.stmts {
			if o.sid == s.sid {
				return nil, fmt.Errorf("add statement %q: %w", s.sid, ErrDuplicateSid)
			}
		}
	}
	q := *p
	q.stmts = append(append(make([]*statement, 0, len(p.stmts)+1), p.stmts...), s)
	q.stmtSingle = false
	return &q, nil
}

// RemoveStatement returns a copy of p without the statement whose Sid is
// sid, or an error matching ErrStatementNotFound.
func (p *Policy) RemoveStatement(sid string) (*Policy, error) {
	for i, s := range p.stmts {
		if sid != "" && s.sid == sid {
			q := *p
			q.stmts = append(append(make([]*statement, 0, len(p.stmts)-1), p.stmts[:i]...), p.stmts[i+1:]...)
			q.stmtSingle = false
			return &q, nil
		}
	}
	return nil, fmt.Errorf("remove statement %q: %w", sid, ErrStatementNotFound)
}

// MarshalJSON writes the policy as a compact JSON document. Element values
// keep the shape they were written in (a string stays a string, an array an
// array; numbers and booleans in conditions stay unquoted); element order is
// Version, Id, Statement and, in statements, Sid, Effect, Principal,
// Action, Resource, Condition. Parsing the output yields an equivalent
// policy.
func (p *Policy) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	comma := false
	if p.version != "" {
		b = append(b, `"Version":`...)
		b = appendJSONString(b, p.version)
		comma = true
	}
	if p.hasID {
		if comma {
			b = append(b, ',')
		}
		b = append(b, `"Id":`...)
		b = appendJSONString(b, p.id)
		comma = true
	}
	if comma {
		b = append(b, ',')
	}
	b = append(b, `"Statement":`...)
	if p.stmtSingle && len(p.stmts) == 1 {
		b = p.stmts[0].appendJSON(b)
	} else {
		b = append(b, '[')
		for i, s := range p.stmts {
			if i > 0 {
				b = append(b, ',')
			}
			b = s.appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func (s *statement) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if s.hasSid {
		b = append(b, `"Sid":`...)
		b = appendJSONString(b, s.sid)
		b = append(b, ',')
	}
	b = append(b, `"Effect":`...)
	b = appendJSONString(b, s.effect.String())
	if s.principal != nil {
		if s.notPrincipal {
			b = append(b, `,"NotPrincipal":`...)
		} else {
			b = append(b, `,"Principal":`...)
		}
		b = s.principal.appendJSON(b)
	}
	if s.notAction {
		b = append(b, `,"NotAction":`...)
	} else {
		b = append(b, `,"Action":`...)
	}
	b = s.action.appendJSON(b)
	if s.hasResource {
		if s.notResource {
			b = append(b, `,"NotResource":`...)
		} else {
			b = append(b, `,"Resource":`...)
		}
		b = s.resource.appendJSON(b)
	}
	if s.hasCondition {
		b = append(b, `,"Condition":{`...)
		for i := range s.conds {
			blk := &s.conds[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, blk.name)
			b = append(b, ':', '{')
			for j := range blk.conds {
				c := &blk.conds[j]
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, c.key)
				b = append(b, ':')
				if !c.single {
					b = append(b, '[')
				}
				for k, v := range c.vals {
					if k > 0 {
						b = append(b, ',')
					}
					if v.kind == jStr {
						b = appendJSONString(b, v.s)
					} else {
						b = append(b, v.s...) // number or boolean literal
					}
				}
				if !c.single {
					b = append(b, ']')
				}
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func (l strList) appendJSON(b []byte) []byte {
	if l.single && len(l.vals) == 1 {
		return appendJSONString(b, l.vals[0])
	}
	b = append(b, '[')
	for i, v := range l.vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

// String returns a short description for logs: kind, Id and statement count.
func (p *Policy) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v policy", p.kind)
	if p.hasID {
		fmt.Fprintf(&b, " %q", p.id)
	}
	fmt.Fprintf(&b, " (%d statements)", len(p.stmts))
	return b.String()
}
