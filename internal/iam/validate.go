package iam

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Constraints from the IAM and STS API models.
var (
	accessKeyIDRe = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	secretKeyRe   = regexp.MustCompile(`^[A-Za-z0-9/+=]{16,128}$`)
	entityNameRe  = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathRe        = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	pathPrefixRe  = regexp.MustCompile(`^/[\x21-\x7E]*$`)
	tagKeyRe      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValueRe    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	descriptionRe = regexp.MustCompile(`^[\t\n\r\x20-\x7E\x{A1}-\x{FF}]*$`)
	sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]*$`)
	sourceIDRe    = regexp.MustCompile(`^[\w+=,.@-]*$`)
	versionIDRe   = regexp.MustCompile(`^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$`)
)

const (
	ruleName   = `Member must satisfy regular expression pattern: [\w+=,.@-]+`
	rulePath   = `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
	rulePrefix = `Member must satisfy regular expression pattern: \u002F[\u0021-\u007E]*`
)

// Limits from IAM's quotas.
const (
	MaxUserName            = 64
	MaxGroupName           = 128
	MaxRoleName            = 64
	MaxPolicyName          = 128
	MaxPath                = 512
	MaxTags                = 50
	MaxManagedPerEntity    = 10
	MaxGroupsPerUser       = 10
	MaxPolicyVersions      = 5
	MaxUserInlineSize      = 2048
	MaxGroupInlineSize     = 5120
	MaxRoleInlineSize      = 10240
	MaxManagedPolicySize   = 6144
	MaxTrustPolicySize     = 2048
	MaxSessionPolicySize   = 2048
	MaxDescription         = 1000
	MinSessionDuration     = 900
	DefaultSessionDuration = 3600
	MaxRoleSessionDuration = 43200
	MaxChainedDuration     = 3600
)

func checkName(v *violations, name, member string, max int) {
	switch {
	case name == "":
		v.add(nil, member, "Member must not be null")
	case len(name) > max:
		v.add(name, member, "Member must have length less than or equal to "+strconv.Itoa(max))
	case !entityNameRe.MatchString(name):
		v.add(name, member, ruleName)
	}
}

func checkPath(v *violations, path, member string) {
	switch {
	case path == "":
	case len(path) > MaxPath:
		v.add(path, member, "Member must have length less than or equal to 512")
	case !pathRe.MatchString(path):
		v.add(path, member, rulePath)
	}
}

// CheckPathPrefix validates a PathPrefix parameter of the List operations.
func CheckPathPrefix(prefix string) error {
	var v violations
	switch {
	case prefix == "":
	case len(prefix) > MaxPath:
		v.add(prefix, "pathPrefix", "Member must have length less than or equal to 512")
	case !pathPrefixRe.MatchString(prefix):
		v.add(prefix, "pathPrefix", rulePrefix)
	}
	return v.err()
}

func checkDescription(v *violations, d string) {
	switch {
	case utf8.RuneCountInString(d) > MaxDescription:
		v.add(d, "description", "Member must have length less than or equal to 1000")
	case !descriptionRe.MatchString(d):
		v.add(d, "description", `Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`)
	}
}

// checkTags validates tags as IAM does: at most 50, keys 1-128 and values
// 0-256 characters of the tag alphabet, keys unique ignoring case, and no
// key in the reserved "aws:" namespace.
func checkTags(tags []Tag) error {
	var v violations
	if len(tags) > MaxTags {
		v.add(len(tags), "tags", "Member must have length less than or equal to 50")
	}
	seen := map[string]bool{}
	for i, t := range tags {
		member := "tags." + strconv.Itoa(i+1) + ".member"
		switch {
		case t.Key == "":
			v.add(t.Key, member+".key", "Member must have length greater than or equal to 1")
		case utf8.RuneCountInString(t.Key) > 128:
			v.add(t.Key, member+".key", "Member must have length less than or equal to 128")
		case !tagKeyRe.MatchString(t.Key):
			v.add(t.Key, member+".key", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		}
		switch {
		case utf8.RuneCountInString(t.Value) > 256:
			v.add(t.Value, member+".value", "Member must have length less than or equal to 256")
		case !tagValueRe.MatchString(t.Value):
			v.add(t.Value, member+".value", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
		}
		lk := strings.ToLower(t.Key)
		if seen[lk] && len(v) == 0 {
			return invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[lk] = true
	}
	if err := v.err(); err != nil {
		return err
	}
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalidInput("User-defined tag keys can't start with 'aws:'. This prefix is reserved for AWS tags.")
		}
	}
	return nil
}

// mergeTags adds or replaces tags (keys compare ignoring case) and checks
// the result's size.
func mergeTags(cur, add []Tag) ([]Tag, error) {
	out := append([]Tag(nil), cur...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if strings.EqualFold(out[i].Key, t.Key) {
				out[i] = t
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, limitExceeded("Cannot exceed quota for TagsPerEntity: 50")
	}
	return out, nil
}

// removeTags drops the tags whose keys are listed (ignoring case).
func removeTags(cur []Tag, keys []string) []Tag {
	var out []Tag
	for _, t := range cur {
		drop := false
		for _, k := range keys {
			if strings.EqualFold(t.Key, k) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

func checkTagKeys(keys []string) error {
	var v violations
	if len(keys) > MaxTags {
		v.add(len(keys), "tagKeys", "Member must have length less than or equal to 50")
	}
	for i, k := range keys {
		member := "tagKeys." + strconv.Itoa(i+1) + ".member"
		switch {
		case k == "":
			v.add(k, member, "Member must have length greater than or equal to 1")
		case utf8.RuneCountInString(k) > 128:
			v.add(k, member, "Member must have length less than or equal to 128")
		case !tagKeyRe.MatchString(k):
			v.add(k, member, `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		}
	}
	return v.err()
}

// policySize is how IAM measures a policy against its size quotas: the
// document's length without whitespace.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n += utf8.RuneLen(r)
		}
	}
	return n
}

// checkDocument applies the model's constraints on a policy document
// parameter: 1 to 131072 characters of [\t\n\r\x20-\xFF].
func checkDocument(v *violations, doc, member string) {
	switch {
	case doc == "":
		v.add(nil, member, "Member must not be null")
	case len(doc) > 131072:
		v.add("...", member, "Member must have length less than or equal to 131072")
	default:
		for _, r := range doc {
			if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xFF {
				continue
			}
			v.add(truncate(doc, 64), member, `Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`)
			return
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
