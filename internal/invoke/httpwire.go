package invoke

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/url"
	"slices"
	"strconv"
)

// The Runtime API speaks a small subset of HTTP/1.1 (RFC 9112), read and
// written here directly rather than through net/http, so that the goroutine
// running an invocation can answer the runtime's pending GET /next and read
// its POST /response itself, without handing either to another goroutine.
// Everything the runtime sends is hostile input: the reader accepts only
// origin-form targets, HTTP/1.0 and 1.1, a bounded header block, and bodies
// framed by one Content-Length or by chunked coding (with trailers); anything
// ambiguous (both framings, conflicting lengths, folded header lines, other
// transfer codings) is refused and the connection closed.

// maxHeaderBytes bounds a request's header block, and separately its
// trailer block (net/http's Runtime API server allowed 64 KB too).
const maxHeaderBytes = 64 << 10

// wireError is a malformed or refused request: the reply's status and
// message. The connection is closed after the reply.
type wireError struct {
	status int
	msg    string
}

func (e *wireError) Error() string { return "invoke: runtime API request: " + e.msg }

func badRequest(msg string) error { return &wireError{status: 400, msg: msg} }

// errTooLarge is a body over the route's limit; the connection is closed
// after the reply because the rest of the body is not read.
var errTooLarge = &wireError{status: 413, msg: "request body too large"}

// wireRequest is one request's head, and its body once read.
type wireRequest struct {
	method string
	path   string // decoded path of an origin-form target, without query
	http10 bool
	// length is the Content-Length, or -1 when absent.
	length  int64
	chunked bool
	// close is set when the client asked to close the connection after
	// this request (Connection: close, or HTTP/1.0 without keep-alive).
	close    bool
	expect   bool   // Expect: 100-continue
	errType  string // Lambda-Runtime-Function-Error-Type
	body     []byte
	trailers wireTrailers
}

// wireTrailers are the trailer fields the Runtime API uses: a streamed
// response that failed midway reports its error in them.
type wireTrailers struct {
	errType string // Lambda-Runtime-Function-Error-Type
	errBody string // Lambda-Runtime-Function-Error-Body
}

// hasBody reports whether a body follows the head.
func (r *wireRequest) hasBody() bool { return r.chunked || r.length > 0 }

// lineReader reads CRLF- (or LF-) terminated lines from br within a byte
// budget, without allocating for lines that fit in br's buffer.
type lineReader struct {
	br      *bufio.Reader
	scratch []byte
}

// line returns the next line without its terminator. The result is valid
// until the next call. budget is decreased by the bytes consumed; a line
// that does not fit in it fails with tooLong.
func (lr *lineReader) line(budget *int, tooLong error) ([]byte, error) {
	b, err := lr.br.ReadSlice('\n')
	if err == nil {
		if *budget -= len(b); *budget < 0 {
			return nil, tooLong
		}
		return trimEOL(b), nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	// Longer than the buffer: assemble it in scratch, within the budget.
	lr.scratch = append(lr.scratch[:0], b...)
	for {
		if len(lr.scratch) > *budget {
			return nil, tooLong
		}
		b, err = lr.br.ReadSlice('\n')
		lr.scratch = append(lr.scratch, b...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
	if *budget -= len(lr.scratch); *budget < 0 {
		return nil, tooLong
	}
	return trimEOL(lr.scratch), nil
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

var errHeaderTooLarge = &wireError{status: 431, msg: "request header fields too large"}

// readHead reads a request line and header block. An io.EOF before the
// first byte means the client closed an idle connection.
func (lr *lineReader) readHead(r *wireRequest) error {
	*r = wireRequest{length: -1}
	budget := maxHeaderBytes
	line, err := lr.line(&budget, errHeaderTooLarge)
	// Tolerate empty lines before a request line (RFC 9112, 2.2).
	for err == nil && len(line) == 0 {
		line, err = lr.line(&budget, errHeaderTooLarge)
	}
	if err != nil {
		return err
	}
	if err := r.parseRequestLine(line); err != nil {
		return err
	}
	keepAlive := false
	for {
		line, err := lr.line(&budget, errHeaderTooLarge)
		if err != nil {
			return unexpectedEOF(err)
		}
		if len(line) == 0 {
			break
		}
		name, value, err := splitField(line)
		if err != nil {
			return err
		}
		switch {
		case equalFold(name, "content-length"):
			n, ok := parseLength(value)
			if !ok || (r.length >= 0 && r.length != n) {
				return badRequest("invalid Content-Length")
			}
			r.length = n
		case equalFold(name, "transfer-encoding"):
			if !equalFold(value, "chunked") || r.chunked {
				return &wireError{status: 501, msg: "unsupported transfer encoding"}
			}
			r.chunked = true
		case equalFold(name, "connection"):
			for _, tok := range bytes.Split(value, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				switch {
				case equalFold(tok, "close"):
					r.close = true
				case equalFold(tok, "keep-alive"):
					keepAlive = true
				}
			}
		case equalFold(name, "expect"):
			if !equalFold(value, "100-continue") {
				return &wireError{status: 417, msg: "unsupported expectation"}
			}
			r.expect = true
		case equalFold(name, "lambda-runtime-function-error-type"):
			r.errType = string(value)
		}
	}
	if r.chunked && r.length >= 0 {
		// Both framings: a request smuggling attempt or a broken client.
		return badRequest("both Content-Length and Transfer-Encoding")
	}
	if r.chunked && r.http10 {
		return badRequest("chunked coding in HTTP/1.0")
	}
	if r.http10 && !keepAlive {
		r.close = true
	}
	return nil
}

// unexpectedEOF turns an end of stream inside a message into
// io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *wireRequest) parseRequestLine(line []byte) error {
	method, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(method) == 0 || !isToken(method) {
		return badRequest("malformed request line")
	}
	target, proto, ok := bytes.Cut(rest, []byte(" "))
	if !ok || len(target) == 0 || target[0] != '/' {
		return badRequest("malformed request line")
	}
	switch string(proto) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		r.http10 = true
	default:
		return &wireError{status: 505, msg: "HTTP version not supported"}
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return badRequest("malformed request target")
		}
	}
	if i := bytes.IndexAny(target, "?#"); i >= 0 {
		target = target[:i]
	}
	r.method = internMethod(method)
	if bytes.IndexByte(target, '%') < 0 {
		r.path = string(target)
		return nil
	}
	p, err := url.PathUnescape(string(target))
	if err != nil {
		return badRequest("malformed request target")
	}
	r.path = p
	return nil
}

// internMethod avoids allocating the common methods.
func internMethod(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	}
	return string(m)
}

// splitField splits a header line into its name and trimmed value.
func splitField(line []byte) (name, value []byte, err error) {
	if line[0] == ' ' || line[0] == '\t' {
		return nil, nil, badRequest("obsolete line folding")
	}
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok || len(name) == 0 || !isToken(name) {
		return nil, nil, badRequest("malformed header field")
	}
	value = bytes.Trim(value, " \t")
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return nil, nil, badRequest("invalid character in header field value")
		}
	}
	return name, value, nil
}

// isToken reports whether b is an RFC 9110 token.
func isToken(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || !tokenChars[c] {
			return false
		}
	}
	return true
}

var tokenChars = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// equalFold compares ASCII case-insensitively against a lower-case s.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// parseLength parses a Content-Length: decimal digits only, at most 18 of
// them (no overflow).
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// readBody reads the body of r, at most limit bytes. A longer body fails
// with errTooLarge without reading the rest.
func (lr *lineReader) readBody(r *wireRequest, limit int64) error {
	switch {
	case r.chunked:
		return lr.readChunked(r, limit)
	case r.length > limit:
		return errTooLarge
	case r.length > 0:
		r.body = make([]byte, r.length)
		_, err := io.ReadFull(lr.br, r.body)
		return unexpectedEOF(err)
	}
	return nil
}

// maxChunkLine bounds a chunk-size line with its extensions.
const maxChunkLine = 4 << 10

var errChunkLine = badRequest("malformed chunk")

func (lr *lineReader) readChunked(r *wireRequest, limit int64) error {
	var body []byte
	for {
		budget := maxChunkLine
		line, err := lr.line(&budget, errChunkLine)
		if err != nil {
			return unexpectedEOF(err)
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions are ignored
		}
		line = bytes.TrimRight(line, " \t")
		size, ok := parseHex(line)
		if !ok {
			return errChunkLine
		}
		if size == 0 {
			break
		}
		if size > limit-int64(len(body)) {
			return errTooLarge
		}
		n := len(body)
		body = slices.Grow(body, int(size))[:n+int(size)]
		if _, err := io.ReadFull(lr.br, body[n:]); err != nil {
			return unexpectedEOF(err)
		}
		if err := lr.crlf(); err != nil {
			return err
		}
	}
	r.body = body
	// Trailer section: header fields, then an empty line.
	budget := maxHeaderBytes
	for {
		line, err := lr.line(&budget, errHeaderTooLarge)
		if err != nil {
			return unexpectedEOF(err)
		}
		if len(line) == 0 {
			return nil
		}
		name, value, err := splitField(line)
		if err != nil {
			return err
		}
		switch {
		case equalFold(name, "lambda-runtime-function-error-type"):
			r.trailers.errType = string(value)
		case equalFold(name, "lambda-runtime-function-error-body"):
			r.trailers.errBody = string(value)
		}
	}
}

// crlf consumes the line end after chunk data.
func (lr *lineReader) crlf() error {
	c, err := lr.br.ReadByte()
	if err == nil && c == '\r' {
		c, err = lr.br.ReadByte()
	}
	if err != nil {
		return unexpectedEOF(err)
	}
	if c != '\n' {
		return errChunkLine
	}
	return nil
}

// parseHex parses a chunk size: 1 to 15 hex digits (no overflow).
func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | int64(c)
	}
	return n, true
}

// Response writing. Responses always carry a Content-Length; error replies
// to malformed requests close the connection.

var statusText = map[int]string{
	200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 413: "Request Entity Too Large",
	417: "Expectation Failed", 431: "Request Header Fields Too Large", 501: "Not Implemented",
	505: "HTTP Version Not Supported",
}

// appendHead appends a status line, a JSON content type, the length and,
// when needed, the connection's fate (HTTP/1.0 clients close unless told
// otherwise).
func appendHead(b []byte, status int, length int, close, http10 bool) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, statusText[status]...)
	b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(length), 10)
	switch {
	case close:
		b = append(b, "\r\nConnection: close"...)
	case http10:
		b = append(b, "\r\nConnection: keep-alive"...)
	}
	return append(b, "\r\n"...)
}

// appendField appends one header field. Line breaks and other control
// characters in the value become spaces, as net/http does, so that a value
// (a client context, say) can never inject fields.
func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	for i := 0; i < len(value); i++ {
		c := value[i]
		if (c < ' ' && c != '\t') || c == 0x7f {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, "\r\n"...)
}
