package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// toAny converts a jnode to the value encoding/json would produce (numbers
// as json.Number), so the two readers can be compared.
func toAny(n jnode) any {
	switch n.kind {
	case jNull:
		return nil
	case jBool:
		return n.s == "true"
	case jNum:
		return json.Number(n.s)
	case jStr:
		return n.s
	case jArr:
		out := []any{}
		for _, v := range n.vals {
			out = append(out, toAny(v))
		}
		return out
	}
	out := map[string]any{}
	for i, k := range n.keys {
		out[k] = toAny(n.vals[i])
	}
	return out
}

func TestJSONReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, true},
		{"whitespace", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n", true},
		{"numbers", `[0,-0,1.5,-2.25e10,3E+2,4e-2]`, true},
		{"escapes", `["\"\\\/\b\f\n\r\t","\u00e9\u4e2d","\ud83d\ude00"]`, true},
		{"empty containers", `[{},[],""]`, true},
		{"leading zero", `[01]`, false},
		{"bare minus", `[-]`, false},
		{"fraction without digits", `[1.]`, false},
		{"exponent without digits", `[1e]`, false},
		{"plus sign", `[+1]`, false},
		{"hex number", `[0x10]`, false},
		{"NaN", `[NaN]`, false},
		{"single quotes", `['a']`, false},
		{"unquoted name", `{a:1}`, false},
		{"trailing comma in array", `[1,]`, false},
		{"missing comma", `[1 2]`, false},
		{"missing colon", `{"a" 1}`, false},
		{"unterminated string", `["abc`, false},
		{"unterminated array", `[1`, false},
		{"bad escape", `["\x41"]`, false},
		{"short unicode escape", `["\u12"]`, false},
		{"lone low surrogate", `["\udc00"]`, false},
		{"high surrogate without pair", `["\ud800x"]`, false},
		{"high surrogate with bad pair", `["\ud800\u0041"]`, false},
		{"raw newline in string", "[\"a\nb\"]", false},
		{"comment", `[1 /* c */]`, false},
		{"two values", `1 2`, false},
		{"empty input", ``, false},
		{"literal typo", `[tru]`, false},
		{"duplicate names", `{"a":1,"a":1}`, false},
		{"names differing in case", `{"a":1,"A":1}`, true},
		{"depth at the limit", `[[[[[[1]]]]]]`, true},
		{"depth over the limit", `[[[[[[[1]]]]]]]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := parseJSON([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("parseJSON(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if !tt.ok {
				return
			}
			d := json.NewDecoder(strings.NewReader(tt.in))
			d.UseNumber()
			var want any
			if err := d.Decode(&want); err != nil {
				t.Fatalf("encoding/json rejects %q: %v", tt.in, err)
			}
			if got := toAny(n); !reflect.DeepEqual(got, want) {
				t.Errorf("parseJSON(%q) = %#v, want %#v", tt.in, got, want)
			}
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "ctl\x00\x01\x1f\n\r\t", "é中😀", "</script>&"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Errorf("appendJSONString(%q) = %s: decodes to %q, %v", s, b, got, err)
		}
		n, err := parseJSON(b)
		if err != nil || n.s != s {
			t.Errorf("parseJSON(appendJSONString(%q)) = %q, %v", s, n.s, err)
		}
	}
}
