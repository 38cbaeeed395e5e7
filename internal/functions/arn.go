package functions

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
)

// LatestVersion is the unpublished, mutable version of a function.
const LatestVersion = "$LATEST"

// Ref names a function as the Lambda API accepts it: a bare name, a partial
// ARN (account:function:name) or a full ARN, each optionally followed by
// ":qualifier", or with the qualifier given separately (?Qualifier=).
type Ref struct {
	Account   string
	Name      string
	Qualifier string // "" (unqualified), "$LATEST", a version number or an alias
}

var (
	functionNameRe = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$`)
	fullARNRe      = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d{1}):(\d{12}):function:([a-zA-Z0-9-_]+)(?::(\$LATEST|[a-zA-Z0-9-_]+))?$`)
	partialARNRe   = regexp.MustCompile(`^(\d{12}):function:([a-zA-Z0-9-_]+)(?::(\$LATEST|[a-zA-Z0-9-_]+))?$`)
	bareNameRe     = regexp.MustCompile(`^([a-zA-Z0-9-_]+)(?::(\$LATEST|[a-zA-Z0-9-_]+))?$`)
	versionRe      = regexp.MustCompile(`^[0-9]+$`)
	aliasNameRe    = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)
)

const functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

// ParseRef parses the FunctionName path or body member. account is the
// caller's account, used when the identifier names none; region is the
// server's region, which a full ARN must name.
func ParseRef(id, qualifier, account, region string) (Ref, error) {
	var r Ref
	if len(id) <= 170 && isName(id) {
		// A bare name, as nearly every Invoke names its function: what
		// the patterns below would conclude, without running them.
		r = Ref{Account: account, Name: id}
	} else {
		var err error
		if r, err = splitRef(id, account, region); err != nil {
			return Ref{}, err
		}
	}
	return qualify(r, qualifier)
}

// splitRef parses a function name that is not a bare name: an ARN, a
// partial ARN or name:qualifier.
func splitRef(id, account, region string) (Ref, error) {
	if id == "" || len(id) > 170 || !functionNameRe.MatchString(id) {
		return Ref{}, validationError(constraint(id, "functionName",
			"Member must satisfy regular expression pattern: "+functionNamePattern))
	}
	var r Ref
	switch {
	case strings.HasPrefix(id, "arn:"):
		m := fullARNRe.FindStringSubmatch(id)
		if m == nil {
			return Ref{}, awserr.New(awserr.InvalidParameterValue, "Invalid function ARN: %s", id)
		}
		if m[2] != region {
			return Ref{}, awserr.New(awserr.InvalidParameterValue,
				"Functions from '%s' are not reachable in this region ('%s')", m[2], region)
		}
		r = Ref{Account: m[3], Name: m[4], Qualifier: m[5]}
	case partialARNRe.MatchString(id):
		m := partialARNRe.FindStringSubmatch(id)
		r = Ref{Account: m[1], Name: m[2], Qualifier: m[3]}
	default:
		m := bareNameRe.FindStringSubmatch(id)
		if m == nil {
			return Ref{}, validationError(constraint(id, "functionName",
				"Member must satisfy regular expression pattern: "+functionNamePattern))
		}
		r = Ref{Account: account, Name: m[1], Qualifier: m[2]}
	}
	return r, nil
}

// qualify checks r's name and applies the Qualifier parameter to it.
func qualify(r Ref, qualifier string) (Ref, error) {
	if len(r.Name) > 64 {
		return Ref{}, validationError(constraint(r.Name, "functionName",
			"Member must have length less than or equal to 64"))
	}
	if qualifier != "" {
		if len(qualifier) > 128 || !isQualifier(qualifier) {
			return Ref{}, validationError(constraint(qualifier, "qualifier",
				"Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"))
		}
		if r.Qualifier != "" && r.Qualifier != qualifier {
			return Ref{}, awserr.New(awserr.InvalidParameterValue,
				"The derived qualifier from the function name does not match the specified qualifier.")
		}
		r.Qualifier = qualifier
	}
	if r.Qualifier != "" && r.Qualifier != LatestVersion && strings.Contains(r.Qualifier, "$") {
		return Ref{}, validationError(constraint(r.Qualifier, "qualifier",
			"Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"))
	}
	return r, nil
}

// isName reports whether s is a non-empty run of the characters a function
// name may have: letters, digits, hyphens and underscores.
func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isNameByte(c) {
			return false
		}
	}
	return s != ""
}

// isQualifier reports whether s matches [a-zA-Z0-9$_-]+.
func isQualifier(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isNameByte(c) && c != '$' {
			return false
		}
	}
	return s != ""
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// FunctionARN is the unqualified ARN of a function.
func FunctionARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, account, name)
}

// QualifiedARN is the ARN of a version or alias, or the unqualified ARN when
// qualifier is empty.
func QualifiedARN(region, account, name, qualifier string) string {
	if qualifier == "" {
		return FunctionARN(region, account, name)
	}
	return FunctionARN(region, account, name) + ":" + qualifier
}

// ARN is r's ARN in region.
func (r Ref) ARN(region string) string {
	return QualifiedARN(region, r.Account, r.Name, r.Qualifier)
}

// isVersion reports whether q names a published version number.
func isVersion(q string) bool { return versionRe.MatchString(q) }

// ParseFunctionARN parses a full function ARN (as TagResource takes it).
func ParseFunctionARN(arn, region string) (Ref, error) {
	m := fullARNRe.FindStringSubmatch(arn)
	if m == nil {
		return Ref{}, validationError(constraint(arn, "resource",
			`Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}(-gov)?-[a-z]+-\d{1}:\d{12}:function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?`))
	}
	if m[2] != region {
		return Ref{}, awserr.New(awserr.InvalidParameterValue,
			"Functions from '%s' are not reachable in this region ('%s')", m[2], region)
	}
	return Ref{Account: m[3], Name: m[4], Qualifier: m[5]}, nil
}
