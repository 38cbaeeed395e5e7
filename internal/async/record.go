package async

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Conditions of an invocation record, as Lambda names them.
const (
	condSuccess          = "Success"
	condRetriesExhausted = "RetriesExhausted"
	condEventAgeExceeded = "EventAgeExceeded"
)

// outcome is how an event's processing ended, what its records say.
type outcome struct {
	condition     string
	invokeCount   int    // approximateInvokeCount
	status        int    // responseContext.statusCode; 0 leaves responseContext out
	version       string // executedVersion
	functionError string
	response      []byte // the last response or error payload (nil: none)
	// errorMessage is the DLQ's ErrorMessage attribute and the log's reason.
	errorMessage string
}

// invocationRecord is the JSON document Lambda sends to destinations, with
// its member names and order.
type invocationRecord struct {
	Version         string           `json:"version"`
	Timestamp       string           `json:"timestamp"`
	RequestContext  recordRequest    `json:"requestContext"`
	RequestPayload  json.RawMessage  `json:"requestPayload"`
	ResponseContext *recordResponse  `json:"responseContext,omitempty"`
	ResponsePayload *json.RawMessage `json:"responsePayload,omitempty"`
}

type recordRequest struct {
	RequestID              string `json:"requestId"`
	FunctionARN            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

type recordResponse struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

// buildRecord renders the invocation record of an event's outcome.
// Payloads that are not JSON (a runtime may return any bytes) appear as JSON
// strings, so the record is always valid JSON.
func buildRecord(at time.Time, requestID, functionARN string, payload []byte, o outcome) []byte {
	rec := invocationRecord{
		Version:   "1.0",
		Timestamp: at.UTC().Format("2006-01-02T15:04:05.000Z"),
		RequestContext: recordRequest{
			RequestID: requestID, FunctionARN: functionARN, Condition: o.condition,
			ApproximateInvokeCount: o.invokeCount,
		},
		RequestPayload: asJSON(payload, []byte("{}")),
	}
	if o.status != 0 {
		rec.ResponseContext = &recordResponse{StatusCode: o.status, ExecutedVersion: o.version, FunctionError: o.functionError}
	}
	if o.status != 0 || o.response != nil {
		raw := asJSON(o.response, []byte("null"))
		rec.ResponsePayload = &raw
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Every member is valid JSON by construction: encoding cannot fail.
	_ = enc.Encode(rec)
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// asJSON returns b when it is one valid JSON value in valid UTF-8, else b as
// a JSON string (invalid UTF-8 replaced); empty b is def.
func asJSON(b, def []byte) json.RawMessage {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return def
	}
	if utf8.Valid(t) && json.Valid(t) {
		return t
	}
	s, _ := json.Marshal(strings.ToValidUTF8(string(b), "\uFFFD"))
	return s
}

// maxErrorMessage is the size of the DLQ's ErrorMessage attribute: "the
// first 1 KB of the error message".
const maxErrorMessage = 1024

// errorMessageOf extracts the message of a function's error payload
// ({"errorMessage": ...}), or else the payload itself, cut to at most 1 KB
// of valid UTF-8 that a queue message attribute may hold.
func errorMessageOf(payload []byte) string {
	msg := ""
	var e struct {
		ErrorMessage *string `json:"errorMessage"`
	}
	if json.Unmarshal(payload, &e) == nil && e.ErrorMessage != nil {
		msg = *e.ErrorMessage
	} else {
		msg = string(bytes.TrimSpace(payload))
	}
	return clip(queueText(msg), maxErrorMessage)
}

// queueText replaces what SQS refuses in attribute values and bodies
// (characters outside XML's Char production, invalid UTF-8) with U+FFFD.
func queueText(s string) string {
	ok := true
	for _, r := range s {
		if !xmlChar(r) {
			ok = false
			break
		}
	}
	if ok && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if !xmlChar(r) {
			r = '\uFFFD'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// dlqErrorCode is the DLQ's ErrorCode attribute (a Number): the HTTP status
// of the last try.
func dlqErrorCode(status int) string {
	if status == 0 {
		status = 200
	}
	return strconv.Itoa(status)
}
