package sqs

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
)

// ErrQueueNotFound is matched (errors.Is) by the error of every operation
// on a queue that does not exist (an *awserr.Error of type
// SQSQueueDoesNotExist).
var ErrQueueNotFound = errors.New("sqs: queue does not exist")

// ErrInvalidReceipt is matched (errors.Is) by the error of a delete or
// visibility change whose receipt handle is not valid for the queue (an
// *awserr.Error of type SQSReceiptHandleIsInvalid).
var ErrInvalidReceipt = errors.New("sqs: invalid receipt handle")

// ErrInvalidARN is matched (errors.Is) by ParseARN's errors.
var ErrInvalidARN = errors.New("sqs: invalid queue ARN")

// ErrInvalidURL is matched (errors.Is) by ParseURL's errors.
var ErrInvalidURL = errors.New("sqs: invalid queue URL")

// fifoSuffix ends every FIFO queue's name.
const fifoSuffix = ".fifo"

// maxNameLength is the longest queue name, suffix included.
const maxNameLength = 80

// validName reports whether name is a queue name: 1 to 80 letters, digits,
// hyphens and underscores, the last five of which may be ".fifo".
func validName(name string) bool {
	if len(name) == 0 || len(name) > maxNameLength {
		return false
	}
	base := strings.TrimSuffix(name, fifoSuffix)
	if base == "" {
		return false
	}
	for i := 0; i < len(base); i++ {
		if !nameChar(base[i]) {
			return false
		}
	}
	return true
}

func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// ValidName reports whether name is a valid queue name.
func ValidName(name string) bool { return validName(name) }

// isFIFOName reports whether name has the FIFO suffix.
func isFIFOName(name string) bool { return strings.HasSuffix(name, fifoSuffix) }

// validAccount reports whether s is a 12-digit account id.
func validAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ARN is the ARN of queue name in account and region.
func ARN(region, account, name string) string {
	return "arn:aws:sqs:" + region + ":" + account + ":" + name
}

// ParseARN splits a queue ARN, arn:aws:sqs:REGION:ACCOUNT:NAME, into its
// region, account and name. Errors match ErrInvalidARN.
func ParseARN(arn string) (region, account, name string, err error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "sqs" {
		return "", "", "", fmt.Errorf("%w: %q", ErrInvalidARN, truncate(arn, 256))
	}
	region, account, name = parts[3], parts[4], parts[5]
	if region == "" || !validRegion(region) || !validAccount(account) || !validName(name) {
		return "", "", "", fmt.Errorf("%w: %q", ErrInvalidARN, truncate(arn, 256))
	}
	return region, account, name, nil
}

func validRegion(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// URL is the queue URL of name in account for an endpoint base such as
// "http://127.0.0.1:9000" (no trailing slash).
func URL(base, account, name string) string {
	return strings.TrimSuffix(base, "/") + "/" + account + "/" + name
}

// ParseURL returns the account and name of a queue URL,
// http(s)://HOST/ACCOUNT/NAME. Any host is accepted: queues are found by
// account and name. Errors match ErrInvalidURL.
func ParseURL(raw string) (account, name string, err error) {
	if len(raw) > 2048 {
		return "", "", fmt.Errorf("%w: too long", ErrInvalidURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidURL, truncate(raw, 256))
	}
	return ParsePath(u.Path)
}

// ParsePath returns the account and name of a queue path, /ACCOUNT/NAME,
// as the Query protocol's queue-URL requests use. Errors match
// ErrInvalidURL.
func ParsePath(p string) (account, name string, err error) {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidURL, truncate(p, 256))
	}
	account, name, ok = strings.Cut(rest, "/")
	if !ok || !validAccount(account) || !validName(name) {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidURL, truncate(p, 256))
	}
	return account, name, nil
}

// queueNotFound is SQS's error for a queue that does not exist (or that the
// caller may not know exists).
func queueNotFound() *awserr.Error {
	return awserr.Wrap(awserr.SQSQueueDoesNotExist, ErrQueueNotFound, "The specified queue does not exist.")
}

// invalidName is CreateQueue's error for a bad queue name.
func invalidName(fifo bool) *awserr.Error {
	if fifo {
		return awserr.New(awserr.InvalidParameterValue,
			"The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
	}
	return awserr.New(awserr.InvalidParameterValue, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
}

// truncate keeps s printable and at most n bytes (plus an ellipsis), for
// error messages that quote client input.
func truncate(s string, n int) string {
	out := make([]byte, 0, min(len(s), n)+3)
	for i := 0; i < len(s) && len(out) < n; i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f {
			c = '?'
		}
		out = append(out, c)
	}
	if len(s) > n {
		out = append(out, "..."...)
	}
	return string(out)
}
