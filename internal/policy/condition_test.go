package policy

import (
	"fmt"
	"testing"
	"time"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

var (
	alice = Principal{Type: TypeUser, ARN: "arn:aws:iam::" + acctA + ":user/dev/alice", Account: acctA, UserID: "AIDAALICE"}
	bob   = Principal{Type: TypeUser, ARN: "arn:aws:iam::" + acctB + ":user/bob", Account: acctB, UserID: "AIDABOB"}
	// session is a session of role r in account A.
	session = Principal{Type: TypeAssumedRole, ARN: "arn:aws:sts::" + acctA + ":assumed-role/r/s1", RoleARN: "arn:aws:iam::" + acctA + ":role/app/r", Account: acctA, UserID: "AROAR:s1"}
)

// kv is a context: key to values.
type kv map[string][]string

func (m kv) context() Context {
	var c Context
	for k, v := range m {
		c.Set(k, v...)
	}
	return c
}

// TestConditions evaluates one identity policy, Allow lambda:* on * with the
// case's Condition element, for alice (unless the case names another
// principal), and checks whether the request is allowed.
func TestConditions(t *testing.T) {
	tests := []struct {
		name      string
		cond      string // the Condition element
		version   string // "" means 2012-10-17; "none" means no Version element
		ctx       kv
		principal *Principal
		want      bool
	}{
		// String operators.
		{"StringEquals match", `{"StringEquals":{"aws:PrincipalTag/team":"blue"}}`, "", kv{"aws:PrincipalTag/team": {"blue"}}, nil, true},
		{"StringEquals is case-sensitive", `{"StringEquals":{"aws:PrincipalTag/team":"blue"}}`, "", kv{"aws:PrincipalTag/team": {"Blue"}}, nil, false},
		{"StringEquals absent key", `{"StringEquals":{"aws:PrincipalTag/team":"blue"}}`, "", nil, nil, false},
		{"StringEquals values are OR'd", `{"StringEquals":{"aws:PrincipalTag/team":["red","blue"]}}`, "", kv{"aws:PrincipalTag/team": {"blue"}}, nil, true},
		{"key names are case-insensitive", `{"StringEquals":{"AWS:PRINCIPALTAG/TEAM":"blue"}}`, "", kv{"aws:principaltag/team": {"blue"}}, nil, true},
		{"StringEquals takes * literally", `{"StringEquals":{"aws:PrincipalTag/team":"b*"}}`, "", kv{"aws:PrincipalTag/team": {"blue"}}, nil, false},
		{"StringEquals literal * matches *", `{"StringEquals":{"aws:PrincipalTag/team":"b*"}}`, "", kv{"aws:PrincipalTag/team": {"b*"}}, nil, true},
		{"StringNotEquals different", `{"StringNotEquals":{"aws:PrincipalTag/team":"blue"}}`, "", kv{"aws:PrincipalTag/team": {"red"}}, nil, true},
		{"StringNotEquals same", `{"StringNotEquals":{"aws:PrincipalTag/team":"blue"}}`, "", kv{"aws:PrincipalTag/team": {"blue"}}, nil, false},
		{"StringNotEquals absent key matches", `{"StringNotEquals":{"aws:PrincipalTag/team":"blue"}}`, "", nil, nil, true},
		{"StringNotEquals values are NOR'd (one equal)", `{"StringNotEquals":{"aws:PrincipalTag/team":["red","blue"]}}`, "", kv{"aws:PrincipalTag/team": {"blue"}}, nil, false},
		{"StringNotEquals values are NOR'd (none equal)", `{"StringNotEquals":{"aws:PrincipalTag/team":["red","blue"]}}`, "", kv{"aws:PrincipalTag/team": {"green"}}, nil, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"BLUE"}}`, "", kv{"aws:PrincipalTag/team": {"blue"}}, nil, true},
		{"StringEqualsIgnoreCase absent", `{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"BLUE"}}`, "", nil, nil, false},
		{"StringNotEqualsIgnoreCase same", `{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/team":"BLUE"}}`, "", kv{"aws:PrincipalTag/team": {"blue"}}, nil, false},
		{"StringNotEqualsIgnoreCase absent", `{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/team":"BLUE"}}`, "", nil, nil, true},
		{"StringLike star", `{"StringLike":{"s3:prefix":"b*e"}}`, "", kv{"s3:prefix": {"blue"}}, nil, true},
		{"StringLike question mark", `{"StringLike":{"s3:prefix":"b?ue"}}`, "", kv{"s3:prefix": {"blue"}}, nil, true},
		{"StringLike question mark is one character", `{"StringLike":{"s3:prefix":"b?e"}}`, "", kv{"s3:prefix": {"blue"}}, nil, false},
		{"StringLike question mark matches a multibyte character", `{"StringLike":{"s3:prefix":"caf?"}}`, "", kv{"s3:prefix": {"café"}}, nil, true},
		{"StringLike is case-sensitive", `{"StringLike":{"s3:prefix":"B*"}}`, "", kv{"s3:prefix": {"blue"}}, nil, false},
		{"StringLike star spans slashes", `{"StringLike":{"s3:prefix":"home/*"}}`, "", kv{"s3:prefix": {"home/a/b/c"}}, nil, true},
		{"StringLike absent", `{"StringLike":{"s3:prefix":"*"}}`, "", nil, nil, false},
		{"StringLike * matches the empty string", `{"StringLike":{"s3:prefix":"*"}}`, "", kv{"s3:prefix": {""}}, nil, true},
		{"StringLike many stars backtrack", `{"StringLike":{"s3:prefix":"*a*b*c"}}`, "", kv{"s3:prefix": {"xxaxxbxxbxxc"}}, nil, true},
		{"StringLike many stars no match", `{"StringLike":{"s3:prefix":"*a*b*c"}}`, "", kv{"s3:prefix": {"xxaxxcxxbxx"}}, nil, false},
		{"StringNotLike matching", `{"StringNotLike":{"s3:prefix":"b*"}}`, "", kv{"s3:prefix": {"blue"}}, nil, false},
		{"StringNotLike not matching", `{"StringNotLike":{"s3:prefix":"b*"}}`, "", kv{"s3:prefix": {"red"}}, nil, true},
		{"StringNotLike absent", `{"StringNotLike":{"s3:prefix":"b*"}}`, "", nil, nil, true},
		{"StringEqualsIfExists absent", `{"StringEqualsIfExists":{"aws:PrincipalTag/team":"blue"}}`, "", nil, nil, true},
		{"StringEqualsIfExists present mismatch", `{"StringEqualsIfExists":{"aws:PrincipalTag/team":"blue"}}`, "", kv{"aws:PrincipalTag/team": {"red"}}, nil, false},
		{"StringEqualsIfExists present match", `{"StringEqualsIfExists":{"aws:PrincipalTag/team":"blue"}}`, "", kv{"aws:PrincipalTag/team": {"blue"}}, nil, true},
		{"StringNotLikeIfExists present matching", `{"StringNotLikeIfExists":{"s3:prefix":"b*"}}`, "", kv{"s3:prefix": {"blue"}}, nil, false},

		// Numeric operators.
		{"NumericEquals", `{"NumericEquals":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"10"}}, nil, true},
		{"NumericEquals compares values not text", `{"NumericEquals":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"10.0"}}, nil, true},
		{"NumericEquals different", `{"NumericEquals":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"11"}}, nil, false},
		{"NumericNotEquals different", `{"NumericNotEquals":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"11"}}, nil, true},
		{"NumericNotEquals same", `{"NumericNotEquals":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"10"}}, nil, false},
		{"NumericNotEquals absent", `{"NumericNotEquals":{"s3:max-keys":"10"}}`, "", nil, nil, true},
		{"NumericLessThan below", `{"NumericLessThan":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"9"}}, nil, true},
		{"NumericLessThan equal", `{"NumericLessThan":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"10"}}, nil, false},
		{"NumericLessThanEquals equal", `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"10"}}, nil, true},
		{"NumericLessThanEquals above", `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"11"}}, nil, false},
		{"NumericGreaterThan above", `{"NumericGreaterThan":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"11"}}, nil, true},
		{"NumericGreaterThan equal", `{"NumericGreaterThan":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"10"}}, nil, false},
		{"NumericGreaterThanEquals equal", `{"NumericGreaterThanEquals":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"10"}}, nil, true},
		{"NumericGreaterThanEquals below", `{"NumericGreaterThanEquals":{"s3:max-keys":"10"}}`, "", kv{"s3:max-keys": {"9"}}, nil, false},
		{"Numeric JSON number value", `{"NumericLessThan":{"s3:max-keys":10}}`, "", kv{"s3:max-keys": {"5"}}, nil, true},
		{"Numeric decimals", `{"NumericLessThan":{"aws:n":"2"}}`, "", kv{"aws:n": {"1.5"}}, nil, true},
		{"Numeric negative", `{"NumericLessThan":{"aws:n":"0"}}`, "", kv{"aws:n": {"-5"}}, nil, true},
		{"Numeric large integers compare exactly", `{"NumericEquals":{"aws:n":"9007199254740993"}}`, "", kv{"aws:n": {"9007199254740992"}}, nil, false},
		{"Numeric request value not a number", `{"NumericEquals":{"aws:n":"1"}}`, "", kv{"aws:n": {"one"}}, nil, false},
		{"Numeric negated with non-number request value", `{"NumericNotEquals":{"aws:n":"1"}}`, "", kv{"aws:n": {"one"}}, nil, true},
		{"NumericLessThan absent", `{"NumericLessThan":{"aws:n":"10"}}`, "", nil, nil, false},

		// Date operators.
		{"DateLessThan before", `{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`, "", kv{"aws:CurrentTime": {"2025-01-01T00:00:00Z"}}, nil, true},
		{"DateGreaterThan before", `{"DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`, "", kv{"aws:CurrentTime": {"2025-01-01T00:00:00Z"}}, nil, false},
		{"DateEquals epoch policy, ISO request", `{"DateEquals":{"aws:CurrentTime":"1700000000"}}`, "", kv{"aws:CurrentTime": {"2023-11-14T22:13:20Z"}}, nil, true},
		{"DateLessThan epoch request", `{"DateLessThan":{"aws:EpochTime":"2030-01-01T00:00:00Z"}}`, "", kv{"aws:EpochTime": {"1700000000"}}, nil, true},
		{"DateLessThanEquals equal", `{"DateLessThanEquals":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}`, "", kv{"aws:CurrentTime": {"2025-01-01T00:00:00Z"}}, nil, true},
		{"DateGreaterThanEquals equal", `{"DateGreaterThanEquals":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}`, "", kv{"aws:CurrentTime": {"2025-01-01T00:00:00Z"}}, nil, true},
		{"DateNotEquals different", `{"DateNotEquals":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}`, "", kv{"aws:CurrentTime": {"2025-01-02T00:00:00Z"}}, nil, true},
		{"DateNotEquals absent", `{"DateNotEquals":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}`, "", nil, nil, true},
		{"Date zone offsets compare instants", `{"DateEquals":{"aws:CurrentTime":"2025-01-01T01:00:00+01:00"}}`, "", kv{"aws:CurrentTime": {"2025-01-01T00:00:00Z"}}, nil, true},
		{"Date without time is midnight UTC", `{"DateEquals":{"aws:CurrentTime":"2025-01-01"}}`, "", kv{"aws:CurrentTime": {"2025-01-01T00:00:00Z"}}, nil, true},
		{"Date fractional seconds", `{"DateLessThan":{"aws:CurrentTime":"2025-01-01T00:00:00.5Z"}}`, "", kv{"aws:CurrentTime": {"2025-01-01T00:00:00Z"}}, nil, true},
		{"DateLessThan absent", `{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`, "", nil, nil, false},
		{"Date request value not a date", `{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`, "", kv{"aws:CurrentTime": {"soon"}}, nil, false},

		// Bool.
		{"Bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, "", kv{"aws:SecureTransport": {"true"}}, nil, true},
		{"Bool mismatch", `{"Bool":{"aws:SecureTransport":"true"}}`, "", kv{"aws:SecureTransport": {"false"}}, nil, false},
		{"Bool absent", `{"Bool":{"aws:SecureTransport":"true"}}`, "", nil, nil, false},
		{"Bool JSON literal", `{"Bool":{"aws:SecureTransport":true}}`, "", kv{"aws:SecureTransport": {"true"}}, nil, true},
		{"Bool is case-insensitive", `{"Bool":{"aws:SecureTransport":"TRUE"}}`, "", kv{"aws:SecureTransport": {"true"}}, nil, true},
		{"BoolIfExists absent", `{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}`, "", nil, nil, true},
		{"BoolIfExists present mismatch", `{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}`, "", kv{"aws:MultiFactorAuthPresent": {"true"}}, nil, false},

		// BinaryEquals.
		{"BinaryEquals match", `{"BinaryEquals":{"aws:b":"QmluYXJ5"}}`, "", kv{"aws:b": {"QmluYXJ5"}}, nil, true},
		{"BinaryEquals compares bytes, not padding", `{"BinaryEquals":{"aws:b":"YQ=="}}`, "", kv{"aws:b": {"YQ"}}, nil, true},
		{"BinaryEquals mismatch", `{"BinaryEquals":{"aws:b":"QmluYXJ5"}}`, "", kv{"aws:b": {"QmluYXJ6"}}, nil, false},
		{"BinaryEquals request not base64", `{"BinaryEquals":{"aws:b":"QmluYXJ5"}}`, "", kv{"aws:b": {"%%%"}}, nil, false},

		// IP address operators.
		{"IpAddress in range", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, "", kv{"aws:SourceIp": {"10.1.2.3"}}, nil, true},
		{"IpAddress out of range", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, "", kv{"aws:SourceIp": {"11.0.0.1"}}, nil, false},
		{"IpAddress single address", `{"IpAddress":{"aws:SourceIp":"203.0.113.5"}}`, "", kv{"aws:SourceIp": {"203.0.113.5"}}, nil, true},
		{"IpAddress single address other", `{"IpAddress":{"aws:SourceIp":"203.0.113.5"}}`, "", kv{"aws:SourceIp": {"203.0.113.6"}}, nil, false},
		{"IpAddress unmasked CIDR", `{"IpAddress":{"aws:SourceIp":"203.0.113.77/24"}}`, "", kv{"aws:SourceIp": {"203.0.113.1"}}, nil, true},
		{"IpAddress IPv6", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, "", kv{"aws:SourceIp": {"2001:db8::1"}}, nil, true},
		{"IpAddress IPv6 outside", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, "", kv{"aws:SourceIp": {"2001:db9::1"}}, nil, false},
		{"IpAddress IPv4-mapped request", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, "", kv{"aws:SourceIp": {"::ffff:10.1.2.3"}}, nil, true},
		{"IpAddress IPv4 range never matches IPv6", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, "", kv{"aws:SourceIp": {"2001:db8::1"}}, nil, false},
		{"IpAddress ranges are OR'd", `{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","10.0.0.0/8"]}}`, "", kv{"aws:SourceIp": {"10.9.9.9"}}, nil, true},
		{"NotIpAddress outside", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, "", kv{"aws:SourceIp": {"11.0.0.1"}}, nil, true},
		{"NotIpAddress inside", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, "", kv{"aws:SourceIp": {"10.0.0.1"}}, nil, false},
		{"NotIpAddress absent", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, "", nil, nil, true},
		{"IpAddress absent", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, "", nil, nil, false},
		{"IpAddress request not an address", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, "", kv{"aws:SourceIp": {"localhost"}}, nil, false},

		// ARN operators.
		{"ArnLike", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::bucket/*"}}`, "", kv{"aws:SourceArn": {"arn:aws:s3:::bucket/key"}}, nil, true},
		{"ArnEquals exact", `{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::bucket"}}`, "", kv{"aws:SourceArn": {"arn:aws:s3:::bucket"}}, nil, true},
		{"ArnEquals takes wildcards like ArnLike", `{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::bucket*"}}`, "", kv{"aws:SourceArn": {"arn:aws:s3:::bucket2"}}, nil, true},
		{"ArnLike matches each part on its own", `{"ArnLike":{"aws:SourceArn":"arn:aws:lambda:*:111111111111:function:f"}}`, "", kv{"aws:SourceArn": {"arn:aws:lambda:us-east-1:x:111111111111:function:f"}}, nil, false},
		{"ArnLike resource part keeps its colons", `{"ArnLike":{"aws:SourceArn":"arn:aws:lambda:*:111111111111:function:f:*"}}`, "", kv{"aws:SourceArn": {"arn:aws:lambda:us-east-1:111111111111:function:f:prod"}}, nil, true},
		{"ArnLike question mark", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::bucket?"}}`, "", kv{"aws:SourceArn": {"arn:aws:s3:::bucket1"}}, nil, true},
		{"ArnLike is case-sensitive", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::Bucket"}}`, "", kv{"aws:SourceArn": {"arn:aws:s3:::bucket"}}, nil, false},
		{"ArnLike request not an ARN", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::*"}}`, "", kv{"aws:SourceArn": {"bucket"}}, nil, false},
		{"ArnLike whole-string pattern", `{"ArnLike":{"aws:SourceArn":"*"}}`, "", kv{"aws:SourceArn": {"arn:aws:s3:::bucket"}}, nil, true},
		{"ArnNotEquals different", `{"ArnNotEquals":{"aws:SourceArn":"arn:aws:s3:::a"}}`, "", kv{"aws:SourceArn": {"arn:aws:s3:::b"}}, nil, true},
		{"ArnNotEquals same", `{"ArnNotEquals":{"aws:SourceArn":"arn:aws:s3:::a"}}`, "", kv{"aws:SourceArn": {"arn:aws:s3:::a"}}, nil, false},
		{"ArnNotEquals absent", `{"ArnNotEquals":{"aws:SourceArn":"arn:aws:s3:::a"}}`, "", nil, nil, true},
		{"ArnNotLike matching", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:s3:::a*"}}`, "", kv{"aws:SourceArn": {"arn:aws:s3:::abc"}}, nil, false},

		// Null.
		{"Null true, key absent", `{"Null":{"aws:TokenIssueTime":"true"}}`, "", nil, nil, true},
		{"Null true, key present", `{"Null":{"aws:TokenIssueTime":"true"}}`, "", kv{"aws:TokenIssueTime": {"2025-01-01T00:00:00Z"}}, nil, false},
		{"Null false, key present", `{"Null":{"aws:TokenIssueTime":"false"}}`, "", kv{"aws:TokenIssueTime": {"2025-01-01T00:00:00Z"}}, nil, true},
		{"Null false, key absent", `{"Null":{"aws:TokenIssueTime":"false"}}`, "", nil, nil, false},
		{"Null JSON boolean", `{"Null":{"aws:TokenIssueTime":true}}`, "", nil, nil, true},
		{"Null on a derived key", `{"Null":{"aws:username":"false"}}`, "", nil, nil, true},

		// Set operators.
		{"ForAllValues subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, "", kv{"aws:TagKeys": {"a"}}, nil, true},
		{"ForAllValues equal set", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, "", kv{"aws:TagKeys": {"b", "a"}}, nil, true},
		{"ForAllValues extra value", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, "", kv{"aws:TagKeys": {"a", "c"}}, nil, false},
		{"ForAllValues absent key is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, "", nil, nil, true},
		{"ForAnyValue one matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"a"}}`, "", kv{"aws:TagKeys": {"b", "a"}}, nil, true},
		{"ForAnyValue none matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"a"}}`, "", kv{"aws:TagKeys": {"b", "c"}}, nil, false},
		{"ForAnyValue absent key is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"a"}}`, "", nil, nil, false},
		{"ForAllValues:StringNotLike all outside", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, "", kv{"aws:TagKeys": {"key2:audit"}}, nil, true},
		{"ForAllValues:StringNotLike one inside", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, "", kv{"aws:TagKeys": {"key2:audit", "key1:legal"}}, nil, false},
		{"ForAllValues:StringNotLike absent", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, "", nil, nil, true},
		{"ForAnyValue:StringNotEquals one differs", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}}`, "", kv{"aws:TagKeys": {"a", "b"}}, nil, true},
		{"ForAnyValue:StringNotEquals none differs", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}}`, "", kv{"aws:TagKeys": {"a"}}, nil, false},
		{"ForAnyValue:StringNotEquals absent", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}}`, "", nil, nil, false},
		{"ForAllValues IfExists absent", `{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":"a*"}}`, "", nil, nil, true},
		{"ForAnyValue IfExists absent", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}}`, "", nil, nil, true},
		{"ForAnyValue IfExists present mismatch", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}}`, "", kv{"aws:TagKeys": {"b"}}, nil, false},
		{"multivalued key, positive operator, no set operator", `{"StringEquals":{"aws:TagKeys":"a"}}`, "", kv{"aws:TagKeys": {"b", "a"}}, nil, true},
		{"multivalued key, negated operator, no set operator", `{"StringNotEquals":{"aws:TagKeys":"a"}}`, "", kv{"aws:TagKeys": {"b", "a"}}, nil, false},
		{"ForAllValues numeric", `{"ForAllValues:NumericLessThan":{"aws:n":"10"}}`, "", kv{"aws:n": {"1", "2"}}, nil, true},
		{"ForAllValues numeric one too big", `{"ForAllValues:NumericLessThan":{"aws:n":"10"}}`, "", kv{"aws:n": {"1", "20"}}, nil, false},
		{"ForAnyValue IpAddress", `{"ForAnyValue:IpAddress":{"aws:ips":"10.0.0.0/8"}}`, "", kv{"aws:ips": {"192.0.2.1", "10.0.0.1"}}, nil, true},

		// Composition.
		{"two keys are AND'd (both hold)", `{"StringEquals":{"aws:PrincipalTag/team":"blue","aws:PrincipalTag/env":"dev"}}`, "", kv{"aws:PrincipalTag/team": {"blue"}, "aws:PrincipalTag/env": {"dev"}}, nil, true},
		{"two keys are AND'd (one fails)", `{"StringEquals":{"aws:PrincipalTag/team":"blue","aws:PrincipalTag/env":"dev"}}`, "", kv{"aws:PrincipalTag/team": {"blue"}, "aws:PrincipalTag/env": {"prod"}}, nil, false},
		{"two operators are AND'd", `{"StringEquals":{"aws:PrincipalTag/team":"blue"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, "", kv{"aws:PrincipalTag/team": {"blue"}, "aws:SourceIp": {"192.0.2.1"}}, nil, false},
		{"empty Condition", `{}`, "", nil, nil, true},
		{"empty operator block", `{"StringEquals":{}}`, "", nil, nil, true},

		// Policy variables.
		{"variable from the principal", `{"StringLike":{"s3:prefix":"${aws:username}/*"}}`, "", kv{"s3:prefix": {"alice/x"}}, nil, true},
		{"variable from the principal, other user's prefix", `{"StringLike":{"s3:prefix":"${aws:username}/*"}}`, "", kv{"s3:prefix": {"bob/x"}}, nil, false},
		{"variable from a tag", `{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}`, "", kv{"aws:ResourceTag/team": {"blue"}, "aws:PrincipalTag/team": {"blue"}}, nil, true},
		{"variable whose key is absent", `{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}`, "", kv{"aws:ResourceTag/team": {""}}, nil, false},
		{"variable default used", `{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team, 'none'}"}}`, "", kv{"aws:ResourceTag/team": {"none"}}, nil, true},
		{"variable default not used when present", `{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team, 'none'}"}}`, "", kv{"aws:ResourceTag/team": {"none"}, "aws:PrincipalTag/team": {"blue"}}, nil, false},
		{"unresolvable variable fails a negated operator", `{"StringNotEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}`, "", kv{"aws:ResourceTag/team": {"blue"}}, nil, false},
		{"unresolvable variable fails ArnNotLike", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:s3:::${aws:PrincipalTag/bucket}"}}`, "", kv{"aws:SourceArn": {"arn:aws:s3:::x"}}, nil, false},
		{"multivalued key as a variable does not resolve", `{"StringEquals":{"aws:x":"${aws:TagKeys}"}}`, "", kv{"aws:x": {"a"}, "aws:TagKeys": {"a", "b"}}, nil, false},
		{"${*} is a literal star", `{"StringLike":{"aws:x":"a${*}b"}}`, "", kv{"aws:x": {"a*b"}}, nil, true},
		{"${*} does not match other text", `{"StringLike":{"aws:x":"a${*}b"}}`, "", kv{"aws:x": {"axb"}}, nil, false},
		{"${?} and ${$} are literal", `{"StringLike":{"aws:x":"${?}${$}"}}`, "", kv{"aws:x": {"?$"}}, nil, true},
		{"substituted value is literal", `{"StringLike":{"aws:x":"${aws:PrincipalTag/p}"}}`, "", kv{"aws:x": {"anything"}, "aws:PrincipalTag/p": {"*"}}, nil, false},
		{"substituted star matches a star", `{"StringLike":{"aws:x":"${aws:PrincipalTag/p}"}}`, "", kv{"aws:x": {"*"}, "aws:PrincipalTag/p": {"*"}}, nil, true},
		{"Version 2008 has no variables", `{"StringEquals":{"aws:x":"${aws:username}"}}`, "2008-10-17", kv{"aws:x": {"alice"}}, nil, false},
		{"Version 2008 variable text is literal", `{"StringEquals":{"aws:x":"${aws:username}"}}`, "2008-10-17", kv{"aws:x": {"${aws:username}"}}, nil, true},
		{"no Version has no variables", `{"StringEquals":{"aws:x":"${aws:username}"}}`, "none", kv{"aws:x": {"alice"}}, nil, false},
		{"variable in ArnLike", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111111111111:user/*/${aws:username}"}}`, "", nil, nil, true},
		{"variable in Bool", `{"Bool":{"aws:x":"${aws:PrincipalTag/flag}"}}`, "", kv{"aws:x": {"true"}, "aws:PrincipalTag/flag": {"TRUE"}}, nil, true},

		// Keys derived from the principal.
		{"aws:userid", `{"StringEquals":{"aws:userid":"AIDAALICE"}}`, "", nil, nil, true},
		{"aws:PrincipalAccount", `{"StringEquals":{"aws:PrincipalAccount":"111111111111"}}`, "", nil, nil, true},
		{"aws:PrincipalType", `{"StringEquals":{"aws:PrincipalType":"User"}}`, "", nil, nil, true},
		{"aws:PrincipalArn of a session is the role", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/app/r"}}`, "", nil, &session, true},
		{"aws:username is absent for a session", `{"Null":{"aws:username":"true"}}`, "", nil, &session, true},
		{"context cannot override the principal", `{"StringEquals":{"aws:username":"bob"}}`, "", kv{"aws:username": {"bob"}}, nil, false},
		{"aws:PrincipalIsAWSService", `{"Bool":{"aws:PrincipalIsAWSService":"false"}}`, "", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version := `"Version":"2012-10-17",`
			switch tt.version {
			case "none":
				version = ""
			case "":
			default:
				version = `"Version":"` + tt.version + `",`
			}
			doc := `{` + version + `"Statement":{"Effect":"Allow","Action":"lambda:*","Resource":"*","Condition":` + tt.cond + `}}`
			p, err := Parse([]byte(doc), Identity)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			req := Request{Principal: alice, Action: "lambda:GetFunction", Resource: "*", Context: tt.ctx.context()}
			if tt.principal != nil {
				req.Principal = *tt.principal
			}
			r := Evaluate(Input{Request: req, Identity: []*Policy{p}})
			if r.Allowed() != tt.want {
				t.Errorf("allowed = %v, want %v (%s)", r.Allowed(), tt.want, r.Reason)
			}
			// The same condition on a Deny statement must deny exactly when
			// it matched on the Allow.
			dp, err := Parse([]byte(fmt.Sprintf(`{%s"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"lambda:*","Resource":"*","Condition":%s}]}`, version, tt.cond)), Identity)
			if err != nil {
				t.Fatalf("Parse deny variant: %v", err)
			}
			dr := Evaluate(Input{Request: req, Identity: []*Policy{dp}})
			if got := dr.Decision == ExplicitDeny; got != tt.want {
				t.Errorf("deny variant: explicit deny = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestContext(t *testing.T) {
	var c Context
	if _, ok := c.Get("aws:x"); ok || c.Len() != 0 {
		t.Fatal("zero Context is not empty")
	}
	c.Set("AWS:SourceIp", "10.0.0.1")
	if v, ok := c.Get("aws:sourceip"); !ok || len(v) != 1 || v[0] != "10.0.0.1" {
		t.Errorf("Get after Set = %v, %v", v, ok)
	}
	vals := []string{"a", "b"}
	c.Set("aws:TagKeys", vals...)
	vals[0] = "changed"
	if v, _ := c.Get("aws:tagkeys"); v[0] != "a" {
		t.Error("Set kept the caller's slice")
	}
	c.Set("aws:TagKeys")
	if _, ok := c.Get("aws:TagKeys"); ok {
		t.Error("Set with no values did not remove the key")
	}
	c.SetTime(time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("x", 3600)))
	if v, _ := c.Get("aws:CurrentTime"); v[0] != "2025-03-04T04:06:07Z" {
		t.Errorf("aws:CurrentTime = %q", v[0])
	}
	if v, _ := c.Get("aws:EpochTime"); v[0] != "1741061167" {
		t.Errorf("aws:EpochTime = %q", v[0])
	}
}
