package policy

import (
	"strings"
	"unicode/utf8"
)

// A pattern is a policy string compiled once at parse time: literal runs,
// the wildcards * and ? (where the element allows them) and policy variables
// (in documents of Version 2012-10-17). Values substituted for variables are
// always literal, so a user name of "*" cannot widen a grant; the special
// variables ${*}, ${?} and ${$} are how a policy spells those characters
// literally.

type tokKind uint8

const (
	tLit   tokKind = iota // text
	tStar                 // * : any run of characters, including ':' and '/'
	tQuest                // ? : exactly one character
	tVar                  // ${key} or ${key, 'default'}
)

type token struct {
	kind   tokKind
	text   string // tLit: the text; tVar: the key, lower-cased
	def    string // tVar: the default value
	hasDef bool
}

type pattern struct {
	toks []token
	// lit is the whole pattern when it is a single literal (or empty): the
	// common case, compared without walking tokens.
	lit    string
	isLit  bool
	any    bool // the pattern is exactly "*"
	hasVar bool
}

// compilePattern compiles s. wild enables * and ?; vars enables policy
// variables. The error text describes a malformed variable.
func compilePattern(s string, wild, vars bool) (pattern, string) {
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.toks = append(p.toks, token{kind: tLit, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case wild && c == '*':
			flush()
			// Consecutive stars are one star.
			if n := len(p.toks); n == 0 || p.toks[n-1].kind != tStar {
				p.toks = append(p.toks, token{kind: tStar})
			}
			i++
		case wild && c == '?':
			flush()
			p.toks = append(p.toks, token{kind: tQuest})
			i++
		case vars && c == '$' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return pattern{}, "unterminated policy variable"
			}
			body := s[i+2 : i+end]
			i += end + 1
			switch body {
			case "*", "?", "$":
				lit.WriteString(body)
				continue
			}
			t, msg := parseVariable(body)
			if msg != "" {
				return pattern{}, msg
			}
			flush()
			p.toks = append(p.toks, t)
			p.hasVar = true
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return finishPattern(p), ""
}

// parseVariable parses the inside of ${...}: a condition key with a vendor
// prefix, optionally followed by a comma and a single-quoted default.
func parseVariable(body string) (token, string) {
	key, def, hasDef := body, "", false
	if k, rest, ok := strings.Cut(body, ","); ok {
		key = k
		rest = strings.TrimSpace(rest)
		if len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' {
			return token{}, "policy variable default must be a single-quoted string"
		}
		def, hasDef = rest[1:len(rest)-1], true
		if strings.ContainsRune(def, '\'') {
			return token{}, "policy variable default must be a single-quoted string"
		}
	}
	key = strings.TrimSpace(key)
	vendor, name, ok := strings.Cut(key, ":")
	if !ok || !validVendor(vendor) || name == "" || strings.ContainsAny(key, "{$'") {
		return token{}, "invalid policy variable ${" + body + "}"
	}
	return token{kind: tVar, text: strings.ToLower(key), def: def, hasDef: hasDef}, ""
}

// resolver supplies values for policy variables: the evaluation's request.
// It is a concrete type, not an interface, so that evaluating a request does
// not move its state to the heap.
type resolver = *evalCtx

func resolveVar(t *token, r resolver) (string, bool) {
	if v, ok := r.variable(t.text); ok {
		return v, true
	}
	if t.hasDef {
		return t.def, true
	}
	return "", false
}

// render returns the pattern's text with variables substituted. It is for
// patterns compiled without wildcards. ok is false when a variable does not
// resolve.
func (p *pattern) render(r resolver) (string, bool) {
	if p.isLit {
		return p.lit, true
	}
	var b strings.Builder
	for i := range p.toks {
		t := &p.toks[i]
		switch t.kind {
		case tVar:
			v, ok := resolveVar(t, r)
			if !ok {
				return "", false
			}
			b.WriteString(v)
		default:
			b.WriteString(t.text)
		}
	}
	return b.String(), true
}

// resolves reports whether every variable in the pattern has a value (or a
// default) in r. A value whose variable does not resolve matches nothing,
// under positive and negated operators alike.
func (p *pattern) resolves(r resolver) bool {
	if !p.hasVar {
		return true
	}
	for i := range p.toks {
		if t := &p.toks[i]; t.kind == tVar {
			if _, ok := resolveVar(t, r); !ok {
				return false
			}
		}
	}
	return true
}

// match reports whether s matches the pattern. fold makes the comparison
// ASCII case-insensitive (action names are ASCII). A variable that does not
// resolve makes the pattern match nothing; callers that must tell that apart
// from a mismatch ask resolves first.
//
// The common case runs the usual glob walk that remembers only the last
// star and, on a mismatch, retries with that star absorbing one more
// character. That walk is linear for ordinary patterns but quadratic for
// hostile ones ("*a?a?a?...b" against "aaaa..."), so it runs on a budget
// linear in the input; past the budget the match is decided by matchNFA,
// whose cost is len(s) * len(pattern) / 64 word operations.
func (p *pattern) match(s string, fold bool, r resolver) bool {
	if p.any {
		return true
	}
	if p.isLit {
		if fold {
			return equalFoldASCII(s, p.lit)
		}
		return s == p.lit
	}
	if m, done := p.matchWalk(s, fold, r, 8*(len(s)+len(p.toks))+64); done {
		return m
	}
	return p.matchNFA(s, fold, r)
}

// matchWalk is the backtracking glob walk. It gives up (done false) after
// budget steps.
func (p *pattern) matchWalk(s string, fold bool, r resolver, budget int) (matched, done bool) {
	ti, si := 0, 0
	star, starSi := -1, 0
	for ; budget > 0; budget-- {
		if ti < len(p.toks) {
			t := &p.toks[ti]
			switch t.kind {
			case tStar:
				star, starSi = ti, si
				ti++
				continue
			case tQuest:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					ti++
					continue
				}
			default:
				lit := t.text
				if t.kind == tVar {
					v, ok := resolveVar(t, r)
					if !ok {
						return false, true
					}
					lit = v
				}
				if hasPrefix(s[si:], lit, fold) {
					si += len(lit)
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true, true
		}
		if star < 0 || starSi >= len(s) {
			return false, true
		}
		_, n := utf8.DecodeRuneInString(s[starSi:])
		starSi += n
		ti, si = star+1, starSi
	}
	return false, false
}

// matchNFA decides a match by simulating the pattern's automaton over the
// runes of s, one bit per pattern position (bit j: the first j units of
// the pattern have matched), all positions advanced together a word at a
// time.
func (p *pattern) matchNFA(s string, fold bool, r resolver) bool {
	// Expand the pattern into units: a literal rune, '?' or '*'.
	const (
		uLit = iota
		uAny
		uStar
	)
	type unit struct {
		kind int
		r    rune
	}
	var units []unit
	addText := func(text string) {
		for _, c := range text {
			if fold {
				c = lowerASCII(c)
			}
			units = append(units, unit{uLit, c})
		}
	}
	for i := range p.toks {
		t := &p.toks[i]
		switch t.kind {
		case tLit:
			addText(t.text)
		case tVar:
			v, ok := resolveVar(t, r)
			if !ok {
				return false
			}
			addText(v)
		case tQuest:
			units = append(units, unit{kind: uAny})
		case tStar:
			// A variable that resolved to "" can leave two stars side by
			// side; one star means the same and keeps closure to one step.
			if n := len(units); n == 0 || units[n-1].kind != uStar {
				units = append(units, unit{kind: uStar})
			}
		}
	}
	words := (len(units) + 1 + 63) / 64
	newSet := func() []uint64 { return make([]uint64, words) }
	anyMask, starMask := newSet(), newSet()
	litMasks := map[rune][]uint64{}
	for j, u := range units {
		w, b := j/64, uint(j%64)
		switch u.kind {
		case uAny:
			anyMask[w] |= 1 << b
		case uStar:
			starMask[w] |= 1 << b
		default:
			m := litMasks[u.r]
			if m == nil {
				m = newSet()
				litMasks[u.r] = m
			}
			m[w] |= 1 << b
		}
	}
	zero := newSet()
	// closure adds j+1 for every star position j in d: a star may match
	// nothing.
	closure := func(d []uint64) {
		var carry uint64
		for w := range d {
			st := d[w] & starMask[w]
			d[w] |= st<<1 | carry
			carry = st >> 63
		}
	}
	cur, next := newSet(), newSet()
	cur[0] = 1
	closure(cur)
	for _, c := range s {
		if fold {
			c = lowerASCII(c)
		}
		lit := litMasks[c]
		if lit == nil {
			lit = zero
		}
		var carry uint64
		live := false
		for w := range cur {
			adv := cur[w] & (lit[w] | anyMask[w])
			next[w] = adv<<1 | carry | cur[w]&starMask[w]
			carry = adv >> 63
			live = live || next[w] != 0
		}
		if !live {
			return false
		}
		closure(next)
		cur, next = next, cur
	}
	end := len(units)
	return cur[end/64]&(1<<uint(end%64)) != 0
}

func lowerASCII(c rune) rune {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func hasPrefix(s, prefix string, fold bool) bool {
	if len(s) < len(prefix) {
		return false
	}
	if fold {
		return equalFoldASCII(s[:len(prefix)], prefix)
	}
	return s[:len(prefix)] == prefix
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// validVendor reports whether v can be a service prefix: letters, digits,
// '-' and '.'.
func validVendor(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// arnPattern is an ArnEquals/ArnLike value: when it has the six
// colon-separated parts of an ARN each part is matched on its own, so a * in
// the service part cannot swallow the account; the last part (the resource)
// may itself contain colons. A value with fewer parts is matched whole.
type arnPattern struct {
	parts []pattern // 6 parts, or 1 for a whole-string pattern
}

func compileARNPattern(s string, vars bool) (arnPattern, string) {
	whole, msg := compilePattern(s, true, vars)
	if msg != "" {
		return arnPattern{}, msg
	}
	// Split at the first five colons that are literal text (a colon inside
	// ${aws:username} is not a separator).
	var parts []pattern
	cur := pattern{}
	for _, t := range whole.toks {
		if t.kind != tLit || len(parts) == 5 {
			cur.toks = append(cur.toks, t)
			continue
		}
		text := t.text
		for len(parts) < 5 {
			i := strings.IndexByte(text, ':')
			if i < 0 {
				break
			}
			if i > 0 {
				cur.toks = append(cur.toks, token{kind: tLit, text: text[:i]})
			}
			parts = append(parts, finishPattern(cur))
			cur = pattern{}
			text = text[i+1:]
		}
		if text != "" {
			cur.toks = append(cur.toks, token{kind: tLit, text: text})
		}
	}
	if len(parts) < 5 {
		return arnPattern{parts: []pattern{whole}}, ""
	}
	parts = append(parts, finishPattern(cur))
	return arnPattern{parts: parts}, ""
}

// finishPattern sets the fast-path fields of a pattern assembled from tokens.
func finishPattern(p pattern) pattern {
	p.isLit, p.any, p.lit, p.hasVar = false, false, "", false
	for _, t := range p.toks {
		if t.kind == tVar {
			p.hasVar = true
		}
	}
	switch {
	case len(p.toks) == 0:
		p.isLit = true
	case len(p.toks) == 1 && p.toks[0].kind == tLit:
		p.isLit, p.lit = true, p.toks[0].text
	case len(p.toks) == 1 && p.toks[0].kind == tStar:
		p.any = true
	}
	return p
}

func (a *arnPattern) resolves(r resolver) bool {
	for i := range a.parts {
		if !a.parts[i].resolves(r) {
			return false
		}
	}
	return true
}

// match reports whether the ARN s matches.
func (a *arnPattern) match(s string, r resolver) bool {
	if len(a.parts) == 1 {
		return a.parts[0].match(s, false, r)
	}
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(s, ':')
		if j < 0 || !a.parts[i].match(s[:j], false, r) {
			return false
		}
		s = s[j+1:]
	}
	return a.parts[5].match(s, false, r)
}
