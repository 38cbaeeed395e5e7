package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/cloister/cloister/internal/awserr"
)

// writeError is the one place where any error becomes an AWS error
// response. Internal errors are logged with their cause and shown to the
// client as a ServiceException that reveals nothing.
func (s *Server) writeError(c *call, err error) {
	e := awserr.As(err)
	status := e.Type.Status()
	if status >= 500 {
		s.log.LogAttrs(c.ctx, slog.LevelError, "request failed", slog.String("request_id", c.requestID),
			slog.String("action", actionOf(c)), slog.String("error_type", string(e.Type)), slog.Any("err", err))
	}
	c.errType = string(e.Type)
	h := c.w.Header()
	h.Set("X-Amzn-ErrorType", string(e.Type))
	h.Set("Content-Type", "application/json")
	if e.RetryAfterSeconds > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
	}
	body, _ := json.Marshal(e.Body())
	c.status = status
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

func actionOf(c *call) string {
	if c.route == nil {
		return ""
	}
	return c.route.action
}

// json writes v as the JSON response body with status.
func (c *call) json(status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("api: encode response: %w", err)
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.status = status
	c.w.WriteHeader(status)
	_, _ = c.w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
	return nil
}

// empty writes a bodiless response.
func (c *call) empty(status int) error {
	c.status = status
	c.w.WriteHeader(status)
	return nil
}

// maxJSONDepth bounds nesting in request bodies (attacker input).
const maxJSONDepth = 32

// decodeJSON decodes a request body into v. An empty body decodes as {}.
// Malformed JSON, wrong member types and excessive nesting are client
// errors; unknown members are ignored, as Lambda does.
func decodeJSON(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if err := checkDepth(body, maxJSONDepth); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return awserr.New(awserr.InvalidRequestContent, "Could not parse request body into json: Unexpected value type for member '%s': %s", te.Field, te.Value)
		}
		return awserr.New(awserr.InvalidRequestContent, "Could not parse request body into json: %s", sanitize(err.Error()))
	}
	if dec.More() {
		return awserr.New(awserr.InvalidRequestContent, "Could not parse request body into json: trailing data after the JSON value")
	}
	return nil
}

// checkDepth rejects JSON nested deeper than max without parsing it.
func checkDepth(b []byte, max int) error {
	depth := 0
	inString, escaped := false, false
	for _, ch := range b {
		switch {
		case escaped:
			escaped = false
		case inString && ch == '\\':
			escaped = true
		case ch == '"':
			inString = !inString
		case inString:
		case ch == '{' || ch == '[':
			depth++
			if depth > max {
				return awserr.New(awserr.InvalidRequestContent, "Could not parse request body into json: nesting deeper than %d levels", max)
			}
		case ch == '}' || ch == ']':
			depth--
		}
	}
	return nil
}

// sanitize keeps an error message printable and short.
func sanitize(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			r = '?'
		}
		out = append(out, r)
		if len(out) >= 200 {
			break
		}
	}
	return string(out)
}
