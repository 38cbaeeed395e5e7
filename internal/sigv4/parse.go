package sigv4

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// Algorithm is the only signing algorithm accepted.
	Algorithm = "AWS4-HMAC-SHA256"
	// ClockSkew is how far the request time may be from the server's clock.
	ClockSkew = 15 * time.Minute
	// MaxExpires is the longest X-Amz-Expires a presigned request may carry.
	MaxExpires = 7 * 24 * time.Hour

	amzDateLayout   = "20060102T150405Z"
	scopeDateLayout = "20060102"
	terminator      = "aws4_request"
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// Auth is what a request claims, parsed before any key lookup.
type Auth struct {
	AccessKeyID string
	Date        string // yyyymmdd from the credential scope, as sent
	Region      string
	Service     string
	// SignedHeaders are the signed header names, lower-case, as listed.
	SignedHeaders []string
	Signature     string // hex, as sent
	// Time is X-Amz-Date (header, or query when presigned), else the Date
	// header, in UTC.
	Time time.Time
	// SessionToken is X-Amz-Security-Token: the header for header
	// authentication, the query parameter for presigned requests.
	SessionToken string
	Presigned    bool
	// Expires is X-Amz-Expires for presigned requests (at most MaxExpires),
	// or ClockSkew when a presigned request does not carry it, as non-S3
	// AWS services treat it. Zero for header authentication.
	Expires time.Duration
}

// LogValue keeps the session token out of logs.
func (a *Auth) LogValue() slog.Value {
	token := ""
	if a.SessionToken != "" {
		token = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("access_key_id", a.AccessKeyID),
		slog.String("scope", a.Date+"/"+a.Region+"/"+a.Service),
		slog.String("signed_headers", strings.Join(a.SignedHeaders, ";")),
		slog.Time("time", a.Time),
		slog.Bool("presigned", a.Presigned),
		slog.String("session_token", token),
	)
}

// Parse reads the SigV4 authentication a request carries, in the
// Authorization header or, for presigned requests, in the query string. It
// checks the form of what it reads, in the order AWS does, but nothing that
// needs the secret or the clock: that is Verify's job.
func Parse(r *http.Request) (*Auth, error) {
	authz := r.Header["Authorization"]
	hasAlg, qerr := scanQuery(r.URL.RawQuery)
	switch {
	case len(authz) == 0 && !hasAlg:
		return nil, newError(ErrMissingAuth, msgMissingAuth)
	case len(authz) > 0 && hasAlg:
		return nil, newError(ErrSignatureMismatch, msgBothAuth)
	case qerr != nil:
		return nil, qerr
	case hasAlg:
		return parseQuery(r)
	}
	if len(authz) > 1 {
		return nil, newError(ErrIncomplete, "Only one 'Authorization' header is allowed.")
	}
	return parseHeader(r, authz[0])
}

func parseHeader(r *http.Request, h string) (*Auth, error) {
	if !strings.HasPrefix(h, "AWS4-") {
		// Another scheme (SigV2, Bearer, ...) is no SigV4 token at all.
		return nil, newError(ErrMissingAuth, msgMissingAuth)
	}
	alg, rest, _ := strings.Cut(h, " ")
	var cred, signed, sig string
	var seen [3]bool
	for rest != "" {
		var field string
		field, rest = nextField(rest)
		if field == "" {
			continue
		}
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return nil, newError(ErrIncomplete,
				"'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", field, h)
		}
		var i int
		var dst *string
		switch k {
		case "Credential":
			i, dst = 0, &cred
		case "SignedHeaders":
			i, dst = 1, &signed
		case "Signature":
			i, dst = 2, &sig
		default:
			continue
		}
		if seen[i] {
			return nil, newError(ErrIncomplete,
				"Authorization header has more than one '%s' parameter. Authorization=%s", k, h)
		}
		seen[i], *dst = true, v
	}

	amzDate := r.Header["X-Amz-Date"]
	date := r.Header["Date"]
	var msg string
	if cred == "" {
		msg += "Authorization header requires 'Credential' parameter. "
	}
	if sig == "" {
		msg += "Authorization header requires 'Signature' parameter. "
	}
	if signed == "" {
		msg += "Authorization header requires 'SignedHeaders' parameter. "
	}
	if len(amzDate) == 0 && len(date) == 0 {
		msg += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
	}
	if msg != "" {
		return nil, newError(ErrIncomplete, "%sAuthorization=%s", msg, h)
	}

	a := &Auth{Signature: sig}
	var err error
	if len(amzDate) > 0 {
		a.Time, err = parseAmzDate(amzDate)
	} else {
		a.Time, err = parseDateHeader(date)
	}
	if err != nil {
		return nil, err
	}
	if err := a.parseScope(alg, cred, signed); err != nil {
		return nil, err
	}
	switch tok := r.Header["X-Amz-Security-Token"]; len(tok) {
	case 0:
	case 1:
		a.SessionToken = tok[0]
	default:
		return nil, newError(ErrIncomplete, "Only one 'X-Amz-Security-Token' header is allowed.")
	}
	return a, nil
}

// nextField splits off the next Authorization parameter; AWS separates them
// with ',' and tolerates spaces around them.
func nextField(s string) (field, rest string) {
	i := strings.IndexAny(s, ", ")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// presignParams are the query parameters of presigned requests, in the
// order AWS reports missing ones (Expires and the token are optional).
var presignParams = [...]string{
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date",
	"X-Amz-Expires", "X-Amz-Security-Token",
}

const (
	pAlgorithm = iota
	pCredential
	pSignature
	pSignedHeaders
	pDate
	pExpires
	pToken
	nRequired = pExpires
)

func parseQuery(r *http.Request) (*Auth, error) {
	var vals [len(presignParams)]string
	var seen [len(presignParams)]bool
	raw := r.URL.RawQuery
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		name, value, _ := strings.Cut(seg, "=")
		for i, p := range presignParams {
			if !queryNameIs(name, p) {
				continue
			}
			if seen[i] {
				return nil, newError(ErrIncomplete,
					"AWS query-string parameter '%s' must appear only once. Re-examine the query-string parameters.", p)
			}
			v, err := url.QueryUnescape(value)
			if err != nil { // scanQuery let it through: cannot happen
				return nil, newError(ErrIncomplete, "Malformed query string parameter '%s'.", p)
			}
			seen[i], vals[i] = true, v
			break
		}
	}
	var msg string
	for i := range nRequired {
		if vals[i] == "" {
			msg += "AWS query-string parameters must include '" + presignParams[i] + "'. "
		}
	}
	if msg != "" {
		return nil, newError(ErrIncomplete, "%sRe-examine the query-string parameters.", msg)
	}
	a := &Auth{Signature: vals[pSignature], Presigned: true, SessionToken: vals[pToken], Expires: ClockSkew}
	var err error
	if a.Time, err = parseAmzDate([]string{vals[pDate]}); err != nil {
		return nil, err
	}
	if err := a.parseScope(vals[pAlgorithm], vals[pCredential], vals[pSignedHeaders]); err != nil {
		return nil, err
	}
	if seen[pExpires] {
		n, err := strconv.ParseInt(vals[pExpires], 10, 64)
		switch {
		case err != nil:
			return nil, newError(ErrIncomplete, msgExpiresNaN)
		case n < 0:
			return nil, newError(ErrIncomplete, msgExpiresNegative)
		case n > int64(MaxExpires/time.Second):
			return nil, newError(ErrIncomplete, msgExpiresTooLong)
		}
		a.Expires = time.Duration(n) * time.Second
	}
	return a, nil
}

// parseScope checks, in AWS's order, that 'host' is signed, the algorithm,
// and the credential's shape, and fills the fields they give.
func (a *Auth) parseScope(alg, cred, signed string) error {
	names, err := splitSignedHeaders(signed)
	if err != nil {
		return err
	}
	a.SignedHeaders = names
	if alg != Algorithm {
		return errAlgorithm(alg)
	}
	var parts [5]string
	rest := cred
	for i := range 4 {
		var ok bool
		if parts[i], rest, ok = strings.Cut(rest, "/"); !ok {
			return errCredentialParts(cred)
		}
	}
	if strings.IndexByte(rest, '/') >= 0 {
		return errCredentialParts(cred)
	}
	parts[4] = rest
	if parts[4] != terminator {
		return errTerminator(parts[4])
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

// splitSignedHeaders splits the ';'-separated list, which must name 'host'
// and hold only lower-case header names.
func splitSignedHeaders(s string) ([]string, error) {
	names := make([]string, 0, strings.Count(s, ";")+1)
	host := false
	for rest := s; ; {
		name, more, found := strings.Cut(rest, ";")
		if !validHeaderName(name) {
			return nil, newError(ErrIncomplete,
				"Invalid SignedHeaders '%s': header names must be lower-case and separated by ';'.", s)
		}
		host = host || name == "host"
		names = append(names, name)
		if !found {
			break
		}
		rest = more
	}
	if !host {
		return nil, newError(ErrSignatureMismatch, msgHostNotSigned)
	}
	return names, nil
}

// validHeaderName reports whether s is a non-empty HTTP token (RFC 9110)
// without upper-case letters.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !tokenChar(c) || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

func parseAmzDate(v []string) (time.Time, error) {
	if len(v) != 1 {
		return time.Time{}, errBadDate(strings.Join(v, ","))
	}
	t, err := time.Parse(amzDateLayout, v[0])
	if err != nil {
		return time.Time{}, errBadDate(v[0])
	}
	return t, nil
}

// parseDateHeader reads the Date header: an HTTP date, botocore's RFC 2822
// form ("Fri, 01 May 2024 12:00:00 -0000"), or ISO-8601 basic format, which
// AWS also accepts.
func parseDateHeader(v []string) (time.Time, error) {
	if len(v) == 1 {
		if t, err := time.Parse(amzDateLayout, v[0]); err == nil {
			return t, nil
		}
		if t, err := http.ParseTime(v[0]); err == nil {
			return t.UTC(), nil
		}
		if t, err := time.Parse(time.RFC1123Z, v[0]); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errBadDate(strings.Join(v, ","))
}
