package api

import (
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/sqs"
)

// --- SendMessage(Batch) ---

type sendFields struct {
	MessageBody      *string                 `json:"MessageBody"`
	DelaySeconds     *int                    `json:"DelaySeconds"`
	Attributes       map[string]sqsAttrValue `json:"MessageAttributes"`
	SystemAttributes map[string]sqsAttrValue `json:"MessageSystemAttributes"`
	DeduplicationID  string                  `json:"MessageDeduplicationId"`
	GroupID          string                  `json:"MessageGroupId"`
}

func (f *sendFields) fromForm(p sqsParams) (err error) {
	if b, ok := p["MessageBody"]; ok {
		f.MessageBody = &b
	}
	if f.DelaySeconds, err = p.intp("DelaySeconds"); err != nil {
		return err
	}
	if f.Attributes, err = p.msgAttrs("MessageAttribute"); err != nil {
		return err
	}
	if f.SystemAttributes, err = p.msgAttrs("MessageSystemAttribute"); err != nil {
		return err
	}
	f.DeduplicationID, f.GroupID = p.Get("MessageDeduplicationId"), p.Get("MessageGroupId")
	return nil
}

func (f *sendFields) domain(sender string) (sqs.SendInput, error) {
	if f.MessageBody == nil {
		return sqs.SendInput{}, awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter MessageBody.")
	}
	attrs, err := attrsToDomain(f.Attributes)
	if err != nil {
		return sqs.SendInput{}, err
	}
	sys, err := attrsToDomain(f.SystemAttributes)
	if err != nil {
		return sqs.SendInput{}, err
	}
	return sqs.SendInput{
		Body: *f.MessageBody, DelaySeconds: f.DelaySeconds, Attributes: attrs, SystemAttributes: sys,
		GroupID: f.GroupID, DeduplicationID: f.DeduplicationID, SenderID: sender,
	}, nil
}

type sendMessageInput struct {
	sqsQueueRef
	sendFields
}

func formSendMessage(p sqsParams, v *sendMessageInput) error {
	v.QueueURL = p.Get("QueueUrl")
	return v.fromForm(p)
}

type sendOutput struct {
	MD5OfMessageBody             string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
	MessageID                    string `json:"MessageId"`
	SequenceNumber               string `json:"SequenceNumber,omitempty"`
}

func newSendOutput(r sqs.SendResult) sendOutput {
	return sendOutput{
		MD5OfMessageBody: r.MD5OfBody, MD5OfMessageAttributes: r.MD5OfAttributes,
		MD5OfMessageSystemAttributes: r.MD5OfSystemAttributes, MessageID: r.MessageID, SequenceNumber: r.SequenceNumber,
	}
}

func (o *sendOutput) writeXML(w *sqsXML) {
	w.text("MD5OfMessageBody", o.MD5OfMessageBody)
	w.optText("MD5OfMessageAttributes", o.MD5OfMessageAttributes)
	w.optText("MD5OfMessageSystemAttributes", o.MD5OfMessageSystemAttributes)
	w.text("MessageId", o.MessageID)
	w.optText("SequenceNumber", o.SequenceNumber)
}

// sender is the SenderId of the caller's messages.
func (sc *sqsCall) sender() string {
	if sc.caller.UserID != "" {
		return sc.caller.UserID
	}
	return sc.caller.Account
}

// depth is the depth of the caller's messages: one more than the
// invocation a function sends them from (see CallerDepth), so that an
// event source mapping stops a loop back to it; 0 from outside.
func (sc *sqsCall) depth() int {
	if d, ok := CallerDepth(sc.ctx); ok {
		return d + 1
	}
	return 0
}

func runSendMessage(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*sendMessageInput)
	in, err := v.domain(sc.sender())
	if err != nil {
		return nil, err
	}
	in.Depth = sc.depth()
	res, err := s.cfg.SQS.SendMessage(sc.ctx, v.account, v.name, in)
	if err != nil {
		return nil, err
	}
	out := newSendOutput(res)
	return &out, nil
}

type sendBatchEntry struct {
	ID string `json:"Id"`
	sendFields
}

type sendBatchInput struct {
	sqsQueueRef
	Entries []sendBatchEntry `json:"Entries"`
}

func formSendBatch(p sqsParams, v *sendBatchInput) error {
	v.QueueURL = p.Get("QueueUrl")
	items, err := p.indexed("SendMessageBatchRequestEntry")
	if err != nil {
		return err
	}
	for _, it := range items {
		e := sendBatchEntry{ID: it.Get("Id")}
		if err := e.fromForm(it); err != nil {
			return err
		}
		v.Entries = append(v.Entries, e)
	}
	return nil
}

type sendBatchResult struct {
	ID string `json:"Id"`
	sendOutput
}

type sendBatchOutput struct {
	Successful []sendBatchResult `json:"Successful"`
	Failed     []batchErrorEntry `json:"Failed"`
}

func (o *sendBatchOutput) writeXML(w *sqsXML) {
	for _, e := range o.Successful {
		w.open("SendMessageBatchResultEntry")
		w.text("Id", e.ID)
		e.sendOutput.writeXML(w)
		w.close("SendMessageBatchResultEntry")
	}
	for i := range o.Failed {
		o.Failed[i].writeXML(w)
	}
}

func runSendBatch(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*sendBatchInput)
	if err := checkBatchIDs("SendMessageBatchRequestEntry", v.Entries, func(e sendBatchEntry) string { return e.ID }); err != nil {
		return nil, err
	}
	out := &sendBatchOutput{Successful: []sendBatchResult{}, Failed: []batchErrorEntry{}}
	var entries []sqs.BatchEntry
	for _, e := range v.Entries {
		in, err := e.domain(sc.sender())
		if err != nil {
			out.Failed = append(out.Failed, s.batchError(sc, e.ID, err))
			continue
		}
		in.Depth = sc.depth()
		entries = append(entries, sqs.BatchEntry{ID: e.ID, Input: in})
	}
	if len(entries) > 0 {
		results, err := s.cfg.SQS.SendMessageBatch(sc.ctx, v.account, v.name, entries)
		if err != nil {
			return nil, err
		}
		for _, res := range results {
			if res.Err != nil {
				out.Failed = append(out.Failed, s.batchError(sc, res.ID, res.Err))
				continue
			}
			out.Successful = append(out.Successful, sendBatchResult{ID: res.ID, sendOutput: newSendOutput(res.Result)})
		}
	}
	return out, nil
}

// --- ReceiveMessage ---

type receiveInput struct {
	sqsQueueRef
	AttributeNames        []string `json:"AttributeNames"`
	SystemAttributeNames  []string `json:"MessageSystemAttributeNames"`
	MessageAttributeNames []string `json:"MessageAttributeNames"`
	MaxNumberOfMessages   *int     `json:"MaxNumberOfMessages"`
	VisibilityTimeout     *int     `json:"VisibilityTimeout"`
	WaitTimeSeconds       *int     `json:"WaitTimeSeconds"`
	AttemptID             string   `json:"ReceiveRequestAttemptId"`
}

func formReceive(p sqsParams, v *receiveInput) (err error) {
	v.QueueURL, v.AttemptID = p.Get("QueueUrl"), p.Get("ReceiveRequestAttemptId")
	if v.AttributeNames, err = p.list("AttributeName"); err != nil {
		return err
	}
	if v.SystemAttributeNames, err = p.list("MessageSystemAttributeName"); err != nil {
		return err
	}
	if v.MessageAttributeNames, err = p.list("MessageAttributeName"); err != nil {
		return err
	}
	if v.MaxNumberOfMessages, err = p.intp("MaxNumberOfMessages"); err != nil {
		return err
	}
	if v.VisibilityTimeout, err = p.intp("VisibilityTimeout"); err != nil {
		return err
	}
	v.WaitTimeSeconds, err = p.intp("WaitTimeSeconds")
	return err
}

type receivedMessage struct {
	MessageID              string                  `json:"MessageId"`
	ReceiptHandle          string                  `json:"ReceiptHandle"`
	MD5OfBody              string                  `json:"MD5OfBody"`
	Body                   string                  `json:"Body"`
	Attributes             map[string]string       `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string                  `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]sqsAttrValue `json:"MessageAttributes,omitempty"`
}

type receiveOutput struct {
	Messages []receivedMessage `json:"Messages,omitempty"`
}

func (o *receiveOutput) writeXML(w *sqsXML) {
	for _, m := range o.Messages {
		w.open("Message")
		w.text("MessageId", m.MessageID)
		w.text("ReceiptHandle", m.ReceiptHandle)
		w.text("MD5OfBody", m.MD5OfBody)
		w.text("Body", m.Body)
		writeMapXML(w, "Attribute", "Name", "Value", m.Attributes)
		w.optText("MD5OfMessageAttributes", m.MD5OfMessageAttributes)
		writeAttrXML(w, "MessageAttribute", m.MessageAttributes)
		w.close("Message")
	}
}

func runReceive(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*receiveInput)
	in := sqs.ReceiveInput{WaitTime: seconds(v.WaitTimeSeconds), VisibilityTimeout: seconds(v.VisibilityTimeout)}
	if n := v.MaxNumberOfMessages; n != nil {
		if *n < 1 || *n > sqs.MaxBatchEntries {
			return nil, awserr.New(awserr.InvalidParameterValue,
				"Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", *n)
		}
		in.MaxMessages = *n
	}
	msgs, err := s.cfg.SQS.ReceiveMessage(sc.ctx, v.account, v.name, in)
	if err != nil {
		return nil, err
	}
	system := append(append([]string{}, v.AttributeNames...), v.SystemAttributeNames...)
	out := &receiveOutput{}
	for i := range msgs {
		m := &msgs[i]
		attrs := sqs.SelectAttributes(m.Attributes, v.MessageAttributeNames)
		out.Messages = append(out.Messages, receivedMessage{
			MessageID: m.MessageID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: m.MD5OfBody, Body: m.Body,
			Attributes:             selectSystem(m.SystemAttributeValues(), system),
			MD5OfMessageAttributes: sqs.MD5OfAttributes(attrs),
			MessageAttributes:      attrsFromDomain(attrs),
		})
	}
	return out, nil
}

// --- DeleteMessage(Batch), ChangeMessageVisibility(Batch) ---

type deleteMessageInput struct {
	sqsQueueRef
	ReceiptHandle string `json:"ReceiptHandle"`
}

func formDeleteMessage(p sqsParams, v *deleteMessageInput) error {
	v.QueueURL, v.ReceiptHandle = p.Get("QueueUrl"), p.Get("ReceiptHandle")
	return nil
}

func runDeleteMessage(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*deleteMessageInput)
	if v.ReceiptHandle == "" {
		return nil, awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter ReceiptHandle.")
	}
	return nil, s.cfg.SQS.DeleteMessage(sc.ctx, v.account, v.name, v.ReceiptHandle)
}

type handleEntry struct {
	ID                string `json:"Id"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout *int   `json:"VisibilityTimeout"`
}

type handleBatchInput struct {
	sqsQueueRef
	Entries []handleEntry `json:"Entries"`
}

func formHandleBatch(p sqsParams, v *handleBatchInput, entry string) error {
	v.QueueURL = p.Get("QueueUrl")
	items, err := p.indexed(entry)
	if err != nil {
		return err
	}
	for _, it := range items {
		e := handleEntry{ID: it.Get("Id"), ReceiptHandle: it.Get("ReceiptHandle")}
		if e.VisibilityTimeout, err = it.intp("VisibilityTimeout"); err != nil {
			return err
		}
		v.Entries = append(v.Entries, e)
	}
	return nil
}

func formDeleteBatch(p sqsParams, v *handleBatchInput) error {
	return formHandleBatch(p, v, "DeleteMessageBatchRequestEntry")
}

func formChangeBatch(p sqsParams, v *handleBatchInput) error {
	return formHandleBatch(p, v, "ChangeMessageVisibilityBatchRequestEntry")
}

func runDeleteBatch(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	return s.handleBatch(sc, r.(*handleBatchInput), "DeleteMessageBatch", func(e handleEntry) error {
		if e.ReceiptHandle == "" {
			return awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter ReceiptHandle.")
		}
		v := r.(*handleBatchInput)
		return s.cfg.SQS.DeleteMessage(sc.ctx, v.account, v.name, e.ReceiptHandle)
	})
}

func runChangeBatch(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	return s.handleBatch(sc, r.(*handleBatchInput), "ChangeMessageVisibilityBatch", func(e handleEntry) error {
		v := r.(*handleBatchInput)
		return changeVisibility(s, sc, v.account, v.name, e.ReceiptHandle, e.VisibilityTimeout)
	})
}

// handleBatch runs f for each entry of a receipt-handle batch.
func (s *Server) handleBatch(sc *sqsCall, v *handleBatchInput, op string, f func(handleEntry) error) (sqsResult, error) {
	if err := checkBatchIDs(op+"RequestEntry", v.Entries, func(e handleEntry) string { return e.ID }); err != nil {
		return nil, err
	}
	out := &idBatchOutput{Successful: []idEntry{}, Failed: []batchErrorEntry{}, entry: op + "ResultEntry"}
	for _, e := range v.Entries {
		if err := f(e); err != nil {
			if awserr.IsType(err, awserr.SQSQueueDoesNotExist) {
				return nil, err
			}
			out.Failed = append(out.Failed, s.batchError(sc, e.ID, err))
			continue
		}
		out.Successful = append(out.Successful, idEntry{ID: e.ID})
	}
	return out, nil
}

type changeVisibilityInput struct {
	sqsQueueRef
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout *int   `json:"VisibilityTimeout"`
}

func formChangeVisibility(p sqsParams, v *changeVisibilityInput) (err error) {
	v.QueueURL, v.ReceiptHandle = p.Get("QueueUrl"), p.Get("ReceiptHandle")
	v.VisibilityTimeout, err = p.intp("VisibilityTimeout")
	return err
}

func runChangeVisibility(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*changeVisibilityInput)
	return nil, changeVisibility(s, sc, v.account, v.name, v.ReceiptHandle, v.VisibilityTimeout)
}

func changeVisibility(s *Server, sc *sqsCall, account, name, handle string, timeout *int) error {
	if handle == "" {
		return awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter ReceiptHandle.")
	}
	if timeout == nil {
		return awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter VisibilityTimeout.")
	}
	return s.cfg.SQS.ChangeMessageVisibility(sc.ctx, account, name, handle, *seconds(timeout))
}
