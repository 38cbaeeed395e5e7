package policy

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// globRegexp is a reference implementation of a wildcard pattern (no
// variables) as an anchored regular expression.
func globRegexp(pat string, fold bool) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for _, c := range pat {
		switch c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			s := string(c)
			if fold && strings.ToLower(s) != strings.ToUpper(s) && c < 0x80 {
				b.WriteString("[" + strings.ToLower(s) + strings.ToUpper(s) + "]")
			} else {
				b.WriteString(regexp.QuoteMeta(s))
			}
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}

// checkGlob compares the walk (with no budget limit), the automaton and the
// reference on one pattern and string.
func checkGlob(t *testing.T, pat, s string, fold bool) {
	t.Helper()
	p, msg := compilePattern(pat, true, false)
	if msg != "" {
		t.Fatalf("compilePattern(%q): %s", pat, msg)
	}
	want := globRegexp(pat, fold).MatchString(s)
	if got := p.match(s, fold, nil); got != want {
		t.Fatalf("match(%q, %q, fold=%v) = %v, want %v", pat, s, fold, got, want)
	}
	if !p.isLit && !p.any {
		if got, done := p.matchWalk(s, fold, nil, 1<<62); !done || got != want {
			t.Fatalf("matchWalk(%q, %q) = %v, %v, want %v", pat, s, got, done, want)
		}
		if got := p.matchNFA(s, fold, nil); got != want {
			t.Fatalf("matchNFA(%q, %q, fold=%v) = %v, want %v", pat, s, fold, got, want)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		fold   bool
	}{
		{"*", "", false},
		{"a*", "a", false},
		{"*a", "ba", false},
		{"a*b*c", "axxbyyc", false},
		{"a*b*c", "axxcyyb", false},
		{"a?c", "abc", false},
		{"a?c", "ac", false},
		{"a?c", "aéc", false},
		{"??", "é", false},
		{"*?", "", false},
		{"lambda:get*", "LAMBDA:GetFunction", true},
		{"LAMBDA:?ET*", "lambda:getx", true},
		{"*a*a*a*a*b", strings.Repeat("a", 200), false},
		{"*" + strings.Repeat("a?", 300) + "b", strings.Repeat("a", 700), false},
		{"*" + strings.Repeat("a?", 300) + "b", strings.Repeat("a", 599) + "b", false},
		{strings.Repeat("*a", 70) + "*", strings.Repeat("a", 70), false},
		{strings.Repeat("*a", 70) + "*", strings.Repeat("a", 69), false},
	}
	for _, tt := range tests {
		t.Run(tt.pat[:min(len(tt.pat), 20)], func(t *testing.T) { checkGlob(t, tt.pat, tt.s, tt.fold) })
	}
}

// TestGlobRandom compares the matchers on random patterns and strings over
// a small alphabet, where stars and question marks interact the most.
func TestGlobRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const patAlpha, strAlpha = "ab*?Aé", "abAé"
	gen := func(alpha string, n int) string {
		rs := []rune(alpha)
		var b strings.Builder
		for range n {
			b.WriteRune(rs[r.IntN(len(rs))])
		}
		return b.String()
	}
	for range 20000 {
		checkGlob(t, gen(patAlpha, r.IntN(12)), gen(strAlpha, r.IntN(14)), r.IntN(2) == 0)
	}
	// Long patterns span several words of the automaton's bitsets.
	for range 200 {
		checkGlob(t, gen(patAlpha, 60+r.IntN(150)), gen(strAlpha, r.IntN(300)), r.IntN(2) == 0)
	}
}

// FuzzGlob compares the wildcard matchers with a regular-expression
// reference.
func FuzzGlob(f *testing.F) {
	f.Add("a*b?c", "axxbyc", false)
	f.Add("lambda:Get*", "LAMBDA:getfunction", true)
	f.Add("*a?a?a?b", "aaaaaaaaaa", false)
	f.Add("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/é", false)
	f.Fuzz(func(t *testing.T, pat, s string, fold bool) {
		if len(pat) > 256 || len(s) > 1024 || !utf8.ValidString(pat) || !utf8.ValidString(s) {
			// Keep the reference fast. The reference reads invalid UTF-8 as
			// U+FFFD, the matchers compare bytes; policy text is always
			// valid UTF-8.
			return
		}
		checkGlob(t, pat, s, fold)
	})
}
