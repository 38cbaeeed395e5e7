package sqs

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cloister/cloister/internal/awserr"
)

// MessageAttribute is a message attribute value. DataType is "String",
// "Number" or "Binary", optionally followed by "." and a custom label;
// String and Number types carry StringValue, Binary types BinaryValue.
type MessageAttribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

// Limits on messages (Amazon SQS's).
const (
	maxMessageAttributes = 10
	maxAttributeNameLen  = 256
	maxDataTypeLen       = 256
	// MaxMessageSize is the largest message (body plus attribute names,
	// types and values) any queue accepts, and every queue's default. It is
	// 256 KiB so that a message fits in an external NATS cluster's default
	// 1 MiB payload limit with room to spare.
	MaxMessageSize = 256 << 10
	minMessageSize = 1024
	// MaxBatchEntries is the most entries a batch request may have.
	MaxBatchEntries = 10
	// traceHeader is the only system attribute a sender may set.
	traceHeader = "AWSTraceHeader"
)

// binaryType reports whether a data type carries BinaryValue.
func binaryType(dataType string) bool { return baseType(dataType) == "Binary" }

// baseType is a data type without its custom label.
func baseType(dataType string) string {
	base, _, _ := strings.Cut(dataType, ".")
	return base
}

// validChars reports the first character of s outside the set SQS allows
// in message bodies and string attribute values (XML's Char production),
// or -1 when every character is allowed. Invalid UTF-8 is reported as the
// offending byte.
func validChars(s string) rune {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return rune(s[i])
		}
		if !(r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return r
		}
		i += n
	}
	return -1
}

const allowedCharSet = "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"

// checkBody validates a message body.
func checkBody(body string) error {
	if body == "" {
		return awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter MessageBody.")
	}
	if r := validChars(body); r >= 0 {
		return awserr.New(awserr.SQSInvalidMessageContents,
			"Invalid binary character '#x%X' was found in the message body, the set of allowed characters is %s", r, allowedCharSet)
	}
	return nil
}

// checkAttributes validates user message attributes and returns their size
// as SQS counts it towards the message size limit.
func checkAttributes(attrs map[string]MessageAttribute) (int, error) {
	if len(attrs) > maxMessageAttributes {
		return 0, awserr.New(awserr.InvalidParameterValue,
			"Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), maxMessageAttributes)
	}
	size := 0
	for name, a := range attrs {
		if err := checkAttributeName(name); err != nil {
			return 0, err
		}
		if err := checkAttributeValue("Message (user)", name, a); err != nil {
			return 0, err
		}
		size += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return size, nil
}

// checkSystemAttributes validates message system attributes (only
// AWSTraceHeader may be sent).
func checkSystemAttributes(attrs map[string]MessageAttribute) error {
	for name, a := range attrs {
		if name != traceHeader {
			return awserr.New(awserr.InvalidParameterValue, "Message system attribute name '%s' is invalid.", truncate(name, 256))
		}
		if a.DataType != "String" {
			return awserr.New(awserr.InvalidParameterValue, "Message system attribute '%s' must be of type String.", name)
		}
		if err := checkAttributeValue("Message system", name, a); err != nil {
			return err
		}
	}
	return nil
}

func checkAttributeName(name string) error {
	bad := func(reason string) error {
		return awserr.New(awserr.InvalidParameterValue, "Message (user) attribute name '%s' is invalid. %s", truncate(name, 256), reason)
	}
	if name == "" {
		return awserr.New(awserr.InvalidParameterValue, "Message (user) attribute name must not be empty.")
	}
	if len(name) > maxAttributeNameLen {
		return bad("The name must be at most 256 characters long.")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !nameChar(c) && c != '.' {
			return bad("The name can contain only alphanumeric characters, hyphens, underscores and periods.")
		}
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
		return bad("The prefixes 'AWS.' and 'Amazon.' are reserved.")
	}
	if name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..") {
		return bad("The name must not start or end with a period, or have two periods in a row.")
	}
	return nil
}

func checkAttributeValue(kind, name string, a MessageAttribute) error {
	if a.DataType == "" {
		return awserr.New(awserr.InvalidParameterValue, "%s attribute '%s' must contain a non-empty attribute type.", kind, name)
	}
	if len(a.DataType) > maxDataTypeLen {
		return awserr.New(awserr.InvalidParameterValue, "%s attribute '%s' has a data type longer than 256 characters.", kind, name)
	}
	base, label, hasLabel := strings.Cut(a.DataType, ".")
	if hasLabel {
		for i := 0; i < len(label); i++ {
			if c := label[i]; !nameChar(c) && c != '.' {
				return awserr.New(awserr.InvalidParameterValue, "%s attribute '%s' has an invalid custom type label.", kind, name)
			}
		}
	}
	switch base {
	case "String", "Number":
		if a.BinaryValue != nil {
			return awserr.New(awserr.InvalidParameterValue, "%s attribute '%s' with type '%s' must use field 'String'.", kind, name, base)
		}
		if a.StringValue == "" {
			return awserr.New(awserr.InvalidParameterValue, "%s attribute '%s' must contain a non-empty value of type '%s'.", kind, name, base)
		}
		if r := validChars(a.StringValue); r >= 0 {
			return awserr.New(awserr.InvalidParameterValue,
				"%s attribute '%s' contains the invalid character '#x%X'; the set of allowed characters is %s", kind, name, r, allowedCharSet)
		}
		if base == "Number" && !validNumber(a.StringValue) {
			return awserr.New(awserr.InvalidParameterValue, "Can't cast the value of message (user) attribute '%s' to a number.", name)
		}
	case "Binary":
		if a.StringValue != "" {
			return awserr.New(awserr.InvalidParameterValue, "%s attribute '%s' with type 'Binary' must use field 'Binary'.", kind, name)
		}
		if len(a.BinaryValue) == 0 {
			return awserr.New(awserr.InvalidParameterValue, "%s attribute '%s' must contain a non-empty value of type 'Binary'.", kind, name)
		}
	default:
		return awserr.New(awserr.InvalidParameterValue,
			"The type of %s attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", strings.ToLower(kind), name)
	}
	return nil
}

// validNumber reports whether s is a number SQS accepts: an optional sign,
// digits with an optional fraction and exponent, and at most 38 significant
// digits.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits, significant := 0, 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		digits++
		if significant > 0 || c != '0' {
			significant++
		}
	}
	mantissa := s[:i]
	if digits == 0 || strings.Count(mantissa, ".") > 1 || strings.HasSuffix(mantissa, ".") || strings.HasPrefix(strings.TrimLeft(mantissa, "+-"), ".") {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 || exp > 3 {
			return false
		}
	}
	return i == len(s) && significant <= 38
}

// MD5OfBody is the hex MD5 digest of a message body, as SQS returns it.
func MD5OfBody(body string) string {
	sum := md5.Sum([]byte(body))
	return hex.EncodeToString(sum[:])
}

// MD5OfAttributes is the hex MD5 digest SQS computes over message
// attributes (MD5OfMessageAttributes, MD5OfMessageSystemAttributes), or ""
// when there are none. For each attribute in ascending order of name it
// digests the name, the data type and the value, each as a 4-byte
// big-endian length followed by its bytes, with a transport byte (1 for a
// string value, 2 for a binary one) before the value.
func MD5OfAttributes(attrs map[string]MessageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	slices.Sort(names)
	h := md5.New()
	var l [4]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		put([]byte(n))
		put([]byte(a.DataType))
		if binaryType(a.DataType) {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SelectAttributes returns the attributes of attrs that names select, as
// ReceiveMessage's MessageAttributeNames does: "All" or ".*" selects every
// attribute, "prefix.*" those whose name starts with "prefix.", and any
// other entry the attribute of exactly that name.
func SelectAttributes(attrs map[string]MessageAttribute, names []string) map[string]MessageAttribute {
	if len(attrs) == 0 || len(names) == 0 {
		return nil
	}
	out := map[string]MessageAttribute{}
	for _, want := range names {
		switch {
		case want == "All" || want == ".*":
			return attrs
		case strings.HasSuffix(want, ".*"):
			prefix := strings.TrimSuffix(want, "*")
			for n, a := range attrs {
				if strings.HasPrefix(n, prefix) {
					out[n] = a
				}
			}
		default:
			if a, ok := attrs[want]; ok {
				out[want] = a
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
