package api

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/policy"
	"github.com/cloister/cloister/internal/sqs"
)

// Amazon SQS is served in both protocols its clients speak: AWS JSON 1.0
// (POST / with X-Amz-Target: AmazonSQS.<Operation>, what current SDKs and
// the AWS CLI v1 send) and the older AWS Query protocol (a form with
// Action=<Operation>, answered in XML, what the Debian AWS CLI v2 sends),
// the latter also on queue-URL paths /ACCOUNT/NAME. Both decode into the
// same inputs and run the same handlers; only the encoding differs.
//
// Every request takes the API's usual path: SigV4 (service "sqs"), then
// authorization of the operation's IAM action on the queue ARN, then the
// handler, then an audit record.

// sqsTargetPrefix starts X-Amz-Target for the JSON protocol.
const sqsTargetPrefix = "AmazonSQS."

// maxSQSRequest bounds an SQS request body: a batch of ten messages of at
// most 256 KiB in all, escaped by the protocol's encoding.
const maxSQSRequest = 4 << 20

// sqsQueuePath matches the queue-URL paths of Query protocol requests.
var sqsQueuePath = regexp.MustCompile(`^/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$`)

// credentialScopeRe finds the service of a SigV4 credential scope.
var credentialScopeRe = regexp.MustCompile(`Credential=[^/,\s]+/[0-9]{8}/[^/,\s]+/([^/,\s]+)/aws4_request`)

// isSQSRequest reports whether r is for SQS: its JSON target names SQS, or
// it goes to / or a queue path signed for the "sqs" service.
func isSQSRequest(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), sqsTargetPrefix) {
		return true
	}
	if r.URL.Path != "/" && !sqsQueuePath.MatchString(r.URL.Path) {
		return false
	}
	scope := r.Header.Get("Authorization")
	if scope == "" {
		scope = "Credential=" + r.URL.Query().Get("X-Amz-Credential")
	}
	m := credentialScopeRe.FindStringSubmatch(scope)
	return m != nil && m[1] == "sqs"
}

// sqsCall is one SQS request being served.
type sqsCall struct {
	*call
	json bool   // JSON protocol (else Query)
	op   string // operation name, e.g. "SendMessage"
}

// serveSQS serves one SQS request, writing its response or error in the
// request's protocol, and records it in the audit trail.
func (s *Server) serveSQS(c *call) {
	sc := &sqsCall{call: c, json: c.r.Header.Get("X-Amz-Target") != ""}
	c.route = &route{action: "sqs:Unknown", maxBody: maxSQSRequest, tooLarge: "Request body is too large."}
	if err := s.sqsServe(sc); err != nil {
		s.writeSQSError(sc, err)
	}
}

func (s *Server) sqsServe(sc *sqsCall) error {
	if s.cfg.SQS == nil {
		return awserr.New(awserr.UnknownOperation, "SQS is not enabled on this server.")
	}
	if sc.r.Method != http.MethodPost && (sc.json || sc.r.Method != http.MethodGet) {
		return awserr.New(awserr.UnknownOperation, "Unknown operation %s %s", sc.r.Method, truncate(sc.r.URL.Path, 128))
	}
	if err := s.authenticate(sc.call, "sqs"); err != nil {
		return err
	}
	var in sqsInput
	if sc.json {
		sc.op = strings.TrimPrefix(sc.r.Header.Get("X-Amz-Target"), sqsTargetPrefix)
	} else {
		form, err := sqsForm(sc.call)
		if err != nil {
			return err
		}
		sc.op = form.Get("Action")
		in.form = form
	}
	op, ok := sqsOps[sc.op]
	if !ok {
		if sc.json {
			return awserr.New(awserr.UnknownOperation, "Unknown operation %s", truncate(sc.op, 64))
		}
		return awserr.New(awserr.UnknownOperation, "The action %s is not valid for this endpoint.", truncate(sc.op, 64))
	}
	sc.route = &route{action: "sqs:" + op.iam, maxBody: maxSQSRequest}
	v, err := op.decode(sc, &in)
	if err != nil {
		return err
	}
	arn, account, err := s.sqsResource(sc, op, v)
	if err != nil {
		return err
	}
	sc.resource = arn
	req := iam.Request{
		Caller: sc.caller, Action: sc.route.action, Resource: arn, ResourceAccount: account,
		SourceIP: sourceIP(sc.r), SecureTransport: sc.r.TLS != nil,
		Context: map[string][]string{"aws:RequestedRegion": {s.cfg.Region}},
	}
	if strings.HasPrefix(arn, "arn:aws:sqs:") {
		// A queue's Policy attribute is its resource-based policy.
		req.ResourcePolicy = func(ctx context.Context) (*policy.Policy, error) {
			p, err := s.cfg.SQS.QueuePolicy(ctx, arn)
			if errors.Is(err, sqs.ErrQueueNotFound) {
				return nil, nil // the operation reports the missing queue
			}
			return p, err
		}
	}
	if err := s.cfg.Authorizer.Authorize(sc.ctx, req); err != nil {
		return err
	}
	out, err := op.run(s, sc, v)
	if err != nil {
		return err
	}
	return s.writeSQS(sc, out)
}

// sqsResource derives the queue ARN (and its account) an operation acts
// on, for authorization: the queue of QueueUrl (or of the request path),
// the queue CreateQueue or GetQueueUrl names, or "*" for ListQueues.
func (s *Server) sqsResource(sc *sqsCall, op sqsOp, v sqsRequest) (arn, account string, err error) {
	region := s.cfg.SQS.Region()
	switch op.scope {
	case scopeNone:
		return "*", "", nil
	case scopeName:
		account, name := v.named(sc.caller.Account)
		switch {
		case name == "":
			return "", "", awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter QueueName.")
		case !sqs.ValidName(name) && sc.op == "CreateQueue":
			return "", "", awserr.New(awserr.InvalidParameterValue, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
		case !sqs.ValidName(name):
			return "", "", awserr.New(awserr.SQSQueueDoesNotExist, "The specified queue does not exist.")
		case len(account) != 12 || strings.Trim(account, "0123456789") != "":
			return "", "", awserr.New(awserr.InvalidParameterValue, "Value %s for parameter QueueOwnerAWSAccountId is invalid.", truncate(account, 64))
		}
		return sqs.ARN(region, account, name), account, nil
	}
	raw := v.queueURL()
	if raw == "" && !sc.json && sc.r.URL.Path != "/" {
		account, name, err := sqs.ParsePath(sc.r.URL.Path)
		if err != nil {
			return "", "", awserr.New(awserr.SQSInvalidAddress, "The address %s is not valid for this endpoint.", truncate(sc.r.URL.Path, 256))
		}
		v.setQueue(account, name)
		return sqs.ARN(region, account, name), account, nil
	}
	if raw == "" {
		return "", "", awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter QueueUrl.")
	}
	account, name, perr := sqs.ParseURL(raw)
	if perr != nil {
		return "", "", awserr.New(awserr.SQSInvalidAddress, "The address %s is not valid for this endpoint.", truncate(raw, 256))
	}
	v.setQueue(account, name)
	return sqs.ARN(region, account, name), account, nil
}

// queueBase is the scheme and host queue URLs are built on: the request's
// own.
func (sc *sqsCall) queueBase() string {
	scheme := "http"
	if sc.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + sc.r.Host
}

// sqsXMLNamespace is the Query protocol's XML namespace for SQS.
const sqsXMLNamespace = "http://queue.amazonaws.com/doc/2012-11-05/"

// writeSQS writes a successful response: JSON, or XML wrapped in
// <OpResponse><OpResult>.
func (s *Server) writeSQS(sc *sqsCall, out sqsResult) error {
	h := sc.w.Header()
	if sc.json {
		h.Set("Content-Type", "application/x-amz-json-1.0")
		body := []byte("{}")
		if out != nil {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(out); err != nil {
				return err
			}
			body = bytes.TrimRight(buf.Bytes(), "\n")
		}
		sc.status = http.StatusOK
		sc.w.WriteHeader(http.StatusOK)
		_, _ = sc.w.Write(body)
		return nil
	}
	w := &sqsXML{}
	w.raw(`<?xml version="1.0"?>`)
	w.raw(`<` + sc.op + `Response xmlns="` + sqsXMLNamespace + `">`)
	if out != nil {
		w.open(sc.op + "Result")
		out.writeXML(w)
		w.close(sc.op + "Result")
	}
	w.open("ResponseMetadata")
	w.text("RequestId", sc.requestID)
	w.close("ResponseMetadata")
	w.close(sc.op + "Response")
	h.Set("Content-Type", "text/xml")
	sc.status = http.StatusOK
	sc.w.WriteHeader(http.StatusOK)
	_, _ = sc.w.Write(w.b.Bytes())
	return nil
}

// writeSQSError is where any error of an SQS request becomes SQS's error
// response: "__type" and x-amzn-query-error under JSON, <ErrorResponse>
// under Query. Internal errors are logged with their cause and shown as an
// InternalError that reveals nothing.
func (s *Server) writeSQSError(sc *sqsCall, err error) {
	e := awserr.As(err)
	jsonType, code, status, sender := e.SQS()
	msg := e.Message
	if status >= 500 && e.Type != awserr.ServiceUnavailable {
		if errors.Is(err, context.Canceled) && sc.ctx.Err() != nil {
			// The client went away (an abandoned long poll): nothing
			// failed, and no one reads the response.
			return
		}
		s.log.LogAttrs(sc.ctx, slog.LevelError, "request failed", slog.String("request_id", sc.requestID),
			slog.String("action", actionOf(sc.call)), slog.String("error_type", string(e.Type)), slog.Any("err", err))
		msg = "We encountered an internal error. Please try again."
	}
	sc.errType = code
	sc.status = status
	fault := "Sender"
	if !sender {
		fault = "Receiver"
	}
	h := sc.w.Header()
	h.Set("x-amzn-query-error", code+";"+fault)
	if sc.json {
		h.Set("Content-Type", "application/x-amz-json-1.0")
		body, _ := json.Marshal(map[string]string{"__type": jsonType, "message": msg})
		sc.w.WriteHeader(status)
		_, _ = sc.w.Write(body)
		return
	}
	w := &sqsXML{}
	w.raw(`<?xml version="1.0"?>`)
	w.raw(`<ErrorResponse xmlns="` + sqsXMLNamespace + `">`)
	w.open("Error")
	w.text("Type", fault)
	w.text("Code", code)
	w.text("Message", msg)
	w.raw("<Detail/>")
	w.close("Error")
	w.text("RequestId", sc.requestID)
	w.close("ErrorResponse")
	h.Set("Content-Type", "text/xml")
	sc.w.WriteHeader(status)
	_, _ = sc.w.Write(w.b.Bytes())
}

// sqsXML builds an XML document.
type sqsXML struct{ b bytes.Buffer }

func (w *sqsXML) raw(s string)   { w.b.WriteString(s) }
func (w *sqsXML) open(n string)  { w.b.WriteString("<" + n + ">") }
func (w *sqsXML) close(n string) { w.b.WriteString("</" + n + ">") }

// text writes <n>value</n>, escaping value (line breaks and tabs as
// character references, so they survive XML's whitespace normalization).
func (w *sqsXML) text(n, value string) {
	w.open(n)
	_ = xml.EscapeText(&w.b, []byte(value))
	w.close(n)
}

func (w *sqsXML) optText(n, value string) {
	if value != "" {
		w.text(n, value)
	}
}
