package api

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseForm feeds the Query protocol's form decoder arbitrary bodies:
// it must not panic, must only return valid UTF-8, and what it returns
// must encode back to a body that decodes to the same parameters; the list
// and structure readers must agree with the parameters they were given.
func FuzzParseForm(f *testing.F) {
	for _, s := range []string{
		"Action=CreateUser&Version=2010-05-08&UserName=alice&Tags.member.1.Key=team&Tags.member.1.Value=blue",
		"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s1&PolicyArns.member.1.arn=x",
		"TagKeys.member.1=a&TagKeys.member.2=b&TagKeys.member.3=c",
		"a=1&&b=&c&d=%20+%2B",
		"x=%zz", "=v", "a=1&a=2", "%ff=1", "k=%C3%A9%E2%82%AC",
		"ContextEntries.member.1.ContextKeyName=aws%3ASourceIp&ContextEntries.member.1.ContextKeyValues.member.1=10.0.0.1",
		"L.member.01=x", "L.member.0=x", "L.member.2=x", "L.member.1=x&L.member.1.a=y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m, err := parseForm(body)
		if err != nil {
			return
		}
		for k, v := range m {
			if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("decoded %q=%q", k, v)
			}
		}
		again, err := parseForm(encodeForm(m))
		if err != nil {
			t.Fatalf("re-encoded form does not decode: %v", err)
		}
		if len(again) != len(m) {
			t.Fatalf("round trip: %d parameters, want %d", len(again), len(m))
		}
		for k, v := range m {
			if again[k] != v {
				t.Fatalf("round trip: %q=%q, want %q", k, again[k], v)
			}
		}
		p := params(m)
		for name := range m {
			prefix, _, ok := strings.Cut(name, ".member.")
			if !ok {
				continue
			}
			if list, err := p.list(prefix); err == nil {
				for i, v := range list {
					if m[prefix+".member."+itoa(int64(i+1))] != v {
						t.Fatalf("list %s[%d] = %q", prefix, i, v)
					}
				}
			}
			if items, err := p.structs(prefix); err == nil {
				for i, it := range items {
					if it != prefix+".member."+itoa(int64(i+1))+"." {
						t.Fatalf("structs %s[%d] = %q", prefix, i, it)
					}
				}
			}
		}
	})
}

// xmlNode is a tree FuzzXMLRoundTrip builds and reads back.
type xmlNode struct {
	name     string
	text     string
	children []*xmlNode
}

// buildTree makes a tree from fuzz bytes: names from a fixed set (names
// are Cloister's, never the client's), text from the input.
func buildTree(data []byte, depth int) (*xmlNode, []byte) {
	names := []string{"User", "UserName", "Arn", "Tags", "member", "Key", "Value", "PolicyDocument"}
	n := &xmlNode{name: "Root"}
	if len(data) > 0 {
		n.name = names[int(data[0])%len(names)]
		data = data[1:]
	}
	var text []byte
	defer func() { n.text = string(text) }()
	for len(data) > 0 {
		op := data[0]
		data = data[1:]
		switch {
		case op < 96 && depth < 6:
			var c *xmlNode
			c, data = buildTree(data, depth+1)
			n.children = append(n.children, c)
		case op < 192:
			ln := 0
			if len(data) > 0 {
				ln = int(data[0]) % 32
				data = data[1:]
			}
			ln = min(ln, len(data))
			if len(n.children) == 0 {
				text = append(text, data[:ln]...)
			}
			data = data[ln:]
		default:
			return n, data
		}
	}
	return n, data
}

func (n *xmlNode) write(w *xmlWriter) {
	if len(n.children) == 0 {
		w.text(n.name, n.text)
		return
	}
	w.start(n.name)
	for _, c := range n.children {
		c.write(w)
	}
	w.end(n.name)
}

// sanitizeXML is what the writer promises to carry: the text, with what
// XML cannot hold replaced by U+FFFD.
func sanitizeXML(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if !xmlChar(r) || r == utf8.RuneError && size == 1 {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// readTree decodes what the writer wrote with encoding/xml.
func readTree(t *testing.T, doc []byte) *xmlNode {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("decode %q: %v", doc, err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{name: tk.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tk)
			}
		}
	}
	return root
}

func sameTree(t *testing.T, want, got *xmlNode) {
	t.Helper()
	if got == nil || want.name != got.name || len(want.children) != len(got.children) {
		t.Fatalf("element %+v, want %+v", got, want)
	}
	if len(want.children) == 0 && sanitizeXML(want.text) != got.text {
		t.Fatalf("text %q, want %q", got.text, sanitizeXML(want.text))
	}
	for i := range want.children {
		sameTree(t, want.children[i], got.children[i])
	}
}

// FuzzXMLRoundTrip writes arbitrary trees with arbitrary text through the
// Query protocol's XML writer and reads them back with encoding/xml: the
// document must be well-formed and hold the same tree and text.
func FuzzXMLRoundTrip(f *testing.F) {
	for _, s := range []string{
		"\x00\x40\x05hello", "\x01\x80\x10<a href=\"x\">&amp;</a>", "\x02\x00\x03\x80\x04\r\n\t\xff\x00",
		"\x03\x80\x08]]>\x00\x01\x7f", "\x04\x80\x06\xef\xbf\xbe\xed\xa0\x80", "\x05\x10\x20\x30\x80\x02'\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, _ := buildTree(data, 0)
		w := &xmlWriter{}
		tree.write(w)
		sameTree(t, tree, readTree(t, w.b))
	})
}

// TestEncodeDoc checks that policy documents come back from their URL
// encoding unchanged, whatever they hold.
func TestEncodeDoc(t *testing.T) {
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a+b c/*"}]}`,
		"é€ \n\t%+&=?#",
	} {
		got := encodeDoc(doc)
		if strings.ContainsAny(got, " +&=\n") {
			t.Errorf("encodeDoc(%q) = %q leaves reserved characters", doc, got)
		}
		back, err := urlUnescape(got)
		if err != nil || back != doc {
			t.Errorf("unescape(encodeDoc(%q)) = %q, %v", doc, back, err)
		}
	}
}

func urlUnescape(s string) (string, error) { return url.QueryUnescape(s) }
