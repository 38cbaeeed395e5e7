package esm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cloister/cloister/internal/sqs"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("event %s: %v", s, err)
	}
	return v
}

func TestPatternMatch(t *testing.T) {
	for _, tc := range []struct {
		name, pattern string
		match, miss   []string
	}{
		{"string equality", `{"a":["x","y"]}`,
			[]string{`{"a":"x"}`, `{"a":"y"}`, `{"a":["z","x"]}`},
			[]string{`{"a":"z"}`, `{}`, `{"a":1}`, `{"a":{"x":1}}`, `{"a":[]}`}},
		{"numbers by value", `{"n":[5]}`,
			[]string{`{"n":5}`, `{"n":5.0}`, `{"n":5e0}`},
			[]string{`{"n":"5"}`, `{"n":6}`}},
		{"null and empty string", `{"a":[null],"b":[""]}`,
			[]string{`{"a":null,"b":""}`},
			[]string{`{"b":""}`, `{"a":null,"b":" "}`}},
		{"booleans", `{"a":[true]}`,
			[]string{`{"a":true}`},
			[]string{`{"a":false}`, `{"a":"true"}`}},
		{"prefix", `{"r":[{"prefix":"us-"}]}`,
			[]string{`{"r":"us-east-1"}`, `{"r":"us-"}`},
			[]string{`{"r":"eu-west-1"}`, `{"r":"US-east"}`, `{"r":5}`}},
		{"prefix ignoring case", `{"r":[{"prefix":{"equals-ignore-case":"ÜS-"}}]}`,
			[]string{`{"r":"üs-east-1"}`, `{"r":"ÜS-x"}`},
			[]string{`{"r":"us-east"}`, `{"r":"ü"}`}},
		{"suffix", `{"f":[{"suffix":".png"}]}`,
			[]string{`{"f":"a.png"}`},
			[]string{`{"f":"a.PNG"}`, `{"f":"png"}`}},
		{"suffix ignoring case", `{"f":[{"suffix":{"equals-ignore-case":".PNG"}}]}`,
			[]string{`{"f":"a.png"}`, `{"f":".Png"}`},
			[]string{`{"f":"a.jpg"}`}},
		{"equals-ignore-case", `{"n":[{"equals-ignore-case":"ALICE"}]}`,
			[]string{`{"n":"alice"}`, `{"n":"Alice"}`},
			[]string{`{"n":"alicia"}`}},
		{"anything-but a string", `{"s":[{"anything-but":"x"}]}`,
			[]string{`{"s":"y"}`, `{"s":1}`, `{"s":null}`},
			[]string{`{"s":"x"}`, `{}`}},
		{"anything-but numbers", `{"n":[{"anything-but":[1,2]}]}`,
			[]string{`{"n":3}`, `{"n":"1"}`},
			[]string{`{"n":2}`, `{"n":1.0}`}},
		{"anything-but a prefix", `{"s":[{"anything-but":{"prefix":"init"}}]}`,
			[]string{`{"s":"final"}`},
			[]string{`{"s":"initial"}`}},
		{"anything-but ignoring case", `{"s":[{"anything-but":{"equals-ignore-case":["A","b"]}}]}`,
			[]string{`{"s":"c"}`},
			[]string{`{"s":"a"}`, `{"s":"B"}`}},
		{"numeric range", `{"n":[{"numeric":[">",0,"<=",5]}]}`,
			[]string{`{"n":5}`, `{"n":0.001}`},
			[]string{`{"n":0}`, `{"n":5.0001}`, `{"n":"3"}`}},
		{"numeric upper bound first", `{"n":[{"numeric":["<",10,">=",3]}]}`,
			[]string{`{"n":3}`, `{"n":9}`},
			[]string{`{"n":10}`, `{"n":2}`}},
		{"numeric equality", `{"n":[{"numeric":["=",100]}]}`,
			[]string{`{"n":100}`, `{"n":1e2}`},
			[]string{`{"n":101}`}},
		{"exists", `{"a":[{"exists":true}]}`,
			[]string{`{"a":1}`, `{"a":null}`, `{"a":[1]}`},
			[]string{`{}`, `{"a":[]}`, `{"a":{"b":1}}`}},
		{"does not exist", `{"a":[{"exists":false}]}`,
			[]string{`{}`, `{"b":1}`},
			[]string{`{"a":1}`}},
		{"nested", `{"a":{"b":["x"]}}`,
			[]string{`{"a":{"b":"x"}}`, `{"a":[{"b":"y"},{"b":"x"}]}`},
			[]string{`{"a":"x"}`, `{"a":{"b":"y"}}`, `{}`}},
		{"nested absent", `{"a":{"b":[{"exists":false}]}}`,
			[]string{`{}`, `{"a":{"c":1}}`},
			[]string{`{"a":{"b":1}}`}},
		{"all fields", `{"a":["1"],"b":["2"]}`,
			[]string{`{"a":"1","b":"2"}`},
			[]string{`{"a":"1"}`, `{"b":"2"}`}},
		{"$or", `{"c":["x"],"$or":[{"a":["1"]},{"b":[{"numeric":[">",5]}]}]}`,
			[]string{`{"c":"x","a":"1"}`, `{"c":"x","b":6}`},
			[]string{`{"c":"x","b":5}`, `{"a":"1"}`}},
		{"any rule", `{"a":["x",{"prefix":"y"},{"numeric":["<",0]}]}`,
			[]string{`{"a":"x"}`, `{"a":"yes"}`, `{"a":-1}`},
			[]string{`{"a":"z"}`, `{"a":0}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePattern(tc.pattern)
			if err != nil {
				t.Fatalf("ParsePattern: %v", err)
			}
			for _, ev := range tc.match {
				if !p.Match(decode(t, ev)) {
					t.Errorf("%s does not match %s", tc.pattern, ev)
				}
			}
			for _, ev := range tc.miss {
				if p.Match(decode(t, ev)) {
					t.Errorf("%s matches %s", tc.pattern, ev)
				}
			}
		})
	}
}

func TestPatternInvalid(t *testing.T) {
	for _, src := range []string{
		``, `null`, `[]`, `"x"`, `{}`, `{"a":"x"}`, `{"a":1}`, `{"a":[]}`, `{"a":{}}`,
		`{"a":["x"]} {}`, `{"a":[1e999]}`, `{"a":[{"prefix":1}]}`, `{"a":[{"prefix":"x","suffix":"y"}]}`,
		`{"a":[{"numeric":[">","x"]}]}`, `{"a":[{"numeric":[">",1,">",2]}]}`, `{"a":[{"numeric":["=",1,"<",2]}]}`,
		`{"a":[{"numeric":["!=",1]}]}`, `{"a":[{"numeric":[">"]}]}`, `{"a":[{"wildcard":"x*"}]}`, `{"a":[{"cidr":"10.0.0.0/8"}]}`,
		`{"a":[{"exists":"yes"}]}`, `{"a":[{"equals-ignore-case":1}]}`, `{"a":[{"anything-but":[]}]}`,
		`{"a":[{"anything-but":[{"prefix":"x"}]}]}`, `{"a":[{"anything-but":{"numeric":[">",1]}}]}`,
		`{"a":[{"anything-but":true}]}`, `{"a":[["x"]]}`, `{"$or":[]}`, `{"$or":[1]}`, `{"$or":{"a":["x"]}}`,
		"{\"a\":[\"\xff\"]}", `{"a":[{"prefix":{"equals-ignore-case":1}}]}`,
		strings.Repeat(`{"a":`, 33) + `["x"]` + strings.Repeat(`}`, 33),
		`{"a":["` + strings.Repeat("x", maxPatternLength) + `"]}`,
	} {
		t.Run(strings.ReplaceAll(truncate(src, 40), "/", "_"), func(t *testing.T) {
			if _, err := ParsePattern(src); !errors.Is(err, ErrInvalidPattern) {
				t.Errorf("ParsePattern(%q) = %v, want ErrInvalidPattern", src, err)
			}
		})
	}
}

// TestFiltersOnRecords checks the SQS specifics: how the body is
// interpreted, metadata and attributes, and OR across filters.
func TestFiltersOnRecords(t *testing.T) {
	msg := func(body string, attrs map[string]sqs.MessageAttribute) *sqsRecord {
		m := &sqs.Message{MessageID: "m1", ReceiptHandle: "h", Body: body, MD5OfBody: sqs.MD5OfBody(body), Attributes: attrs,
			SenderID: "AIDAEXAMPLE", ReceiveCount: 1}
		r := newRecord(m, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
		return &r
	}
	tagged := map[string]sqs.MessageAttribute{"team": {DataType: "String", StringValue: "blue"}}
	for _, tc := range []struct {
		name    string
		filters []string
		rec     *sqsRecord
		want    bool
	}{
		{"no filters", nil, msg("anything", nil), true},
		{"JSON body field", []string{`{"body":{"RequestCode":["BBBB"]}}`}, msg(`{"RequestCode":"BBBB"}`, nil), true},
		{"JSON body other value", []string{`{"body":{"RequestCode":["BBBB"]}}`}, msg(`{"RequestCode":"AAAA"}`, nil), false},
		{"JSON body numeric", []string{`{"body":{"RecordNumber":[{"numeric":[">",9999]}]}}`}, msg(`{"RecordNumber":12345}`, nil), true},
		{"plain body, object pattern", []string{`{"body":{"RequestCode":["BBBB"]}}`}, msg(`RequestCode BBBB`, nil), false},
		{"plain body, absent field", []string{`{"body":{"x":[{"exists":false}]}}`}, msg(`plain`, nil), false},
		{"plain body rule", []string{`{"body":[{"prefix":"Result: "}]}`}, msg(`Result: ok`, nil), true},
		{"plain body equality", []string{`{"body":["hello"]}`}, msg(`hello`, nil), true},
		{"JSON body, plain rule", []string{`{"body":[{"prefix":"{"}]}`}, msg(`{"a":1}`, nil), false},
		{"JSON array body is plain", []string{`{"body":["[1,2]"]}`}, msg(`[1,2]`, nil), true},
		{"receive count", []string{`{"attributes":{"ApproximateReceiveCount":["1"]}}`}, msg(`x`, nil), true},
		{"sender", []string{`{"attributes":{"SenderId":[{"prefix":"AIDA"}]}}`}, msg(`x`, nil), true},
		{"message attribute", []string{`{"messageAttributes":{"team":{"stringValue":["blue"]}}}`}, msg(`x`, tagged), true},
		{"message attribute type", []string{`{"messageAttributes":{"team":{"dataType":["Number"]}}}`}, msg(`x`, tagged), false},
		{"event source", []string{`{"eventSource":["aws:sqs"],"awsRegion":["us-east-1"]}`}, msg(`x`, nil), true},
		{"any filter", []string{`{"body":["nope"]}`, `{"body":["x"]}`}, msg(`x`, nil), true},
		{"no filter", []string{`{"body":["nope"]}`, `{"messageId":["m2"]}`}, msg(`x`, nil), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := compileFilters(tc.filters)
			if err != nil {
				t.Fatal(err)
			}
			if got := fs.match(tc.rec); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}
