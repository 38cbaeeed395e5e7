package api

import (
	"log/slog"
	"slices"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/sqs"
)

// sqsOps are the SQS operations, by name. Batch operations are authorized
// as their single-message action, as IAM defines them.
var sqsOps = map[string]sqsOp{
	"CreateQueue":                  {iam: "CreateQueue", scope: scopeName, decode: sqsDecoder(formCreateQueue), run: runCreateQueue},
	"GetQueueUrl":                  {iam: "GetQueueUrl", scope: scopeName, decode: sqsDecoder(formGetQueueURL), run: runGetQueueURL},
	"ListQueues":                   {iam: "ListQueues", scope: scopeNone, decode: sqsDecoder(formListQueues), run: runListQueues},
	"DeleteQueue":                  {iam: "DeleteQueue", decode: sqsDecoder(formQueueOnly), run: runDeleteQueue},
	"GetQueueAttributes":           {iam: "GetQueueAttributes", decode: sqsDecoder(formGetAttributes), run: runGetAttributes},
	"SetQueueAttributes":           {iam: "SetQueueAttributes", decode: sqsDecoder(formSetAttributes), run: runSetAttributes},
	"TagQueue":                     {iam: "TagQueue", decode: sqsDecoder(formTagQueue), run: runTagQueue},
	"UntagQueue":                   {iam: "UntagQueue", decode: sqsDecoder(formUntagQueue), run: runUntagQueue},
	"ListQueueTags":                {iam: "ListQueueTags", decode: sqsDecoder(formQueueOnly), run: runListQueueTags},
	"PurgeQueue":                   {iam: "PurgeQueue", decode: sqsDecoder(formQueueOnly), run: runPurgeQueue},
	"ListDeadLetterSourceQueues":   {iam: "ListDeadLetterSourceQueues", decode: sqsDecoder(formListSources), run: runListSources},
	"SendMessage":                  {iam: "SendMessage", decode: sqsDecoder(formSendMessage), run: runSendMessage},
	"SendMessageBatch":             {iam: "SendMessage", decode: sqsDecoder(formSendBatch), run: runSendBatch},
	"ReceiveMessage":               {iam: "ReceiveMessage", decode: sqsDecoder(formReceive), run: runReceive},
	"DeleteMessage":                {iam: "DeleteMessage", decode: sqsDecoder(formDeleteMessage), run: runDeleteMessage},
	"DeleteMessageBatch":           {iam: "DeleteMessage", decode: sqsDecoder(formDeleteBatch), run: runDeleteBatch},
	"ChangeMessageVisibility":      {iam: "ChangeMessageVisibility", decode: sqsDecoder(formChangeVisibility), run: runChangeVisibility},
	"ChangeMessageVisibilityBatch": {iam: "ChangeMessageVisibility", decode: sqsDecoder(formChangeBatch), run: runChangeBatch},
	"AddPermission":                {iam: "AddPermission", decode: sqsDecoder(formQueueOnly), run: runUnsupported},
	"RemovePermission":             {iam: "RemovePermission", decode: sqsDecoder(formQueueOnly), run: runUnsupported},
	"StartMessageMoveTask":         {iam: "StartMessageMoveTask", scope: scopeNone, decode: sqsDecoder(formNothing), run: runUnsupported},
	"CancelMessageMoveTask":        {iam: "CancelMessageMoveTask", scope: scopeNone, decode: sqsDecoder(formNothing), run: runUnsupported},
	"ListMessageMoveTasks":         {iam: "ListMessageMoveTasks", scope: scopeNone, decode: sqsDecoder(formNothing), run: runUnsupported},
}

func runUnsupported(_ *Server, sc *sqsCall, _ sqsRequest) (sqsResult, error) {
	return nil, awserr.New(awserr.SQSUnsupportedOperation, "Cloister does not support %s.", sc.op)
}

func formNothing(sqsParams, *sqsQueueRef) error { return nil }

func formQueueOnly(p sqsParams, v *sqsQueueRef) error {
	v.QueueURL = p.Get("QueueUrl")
	return nil
}

// --- Queues ---

type createQueueInput struct {
	sqsQueueRef
	QueueName  string            `json:"QueueName"`
	Attributes map[string]string `json:"Attributes"`
	Tags       map[string]string `json:"tags"`
}

func (v *createQueueInput) named(caller string) (string, string) { return caller, v.QueueName }

func formCreateQueue(p sqsParams, v *createQueueInput) (err error) {
	v.QueueName = p.Get("QueueName")
	if v.Attributes, err = p.pairs("Attribute", "Name", "Value"); err != nil {
		return err
	}
	v.Tags, err = p.pairs("Tag", "Key", "Value")
	return err
}

type queueURLOutput struct {
	QueueURL string `json:"QueueUrl"`
}

func (o *queueURLOutput) writeXML(w *sqsXML) { w.text("QueueUrl", o.QueueURL) }

func runCreateQueue(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*createQueueInput)
	q, err := s.cfg.SQS.CreateQueue(sc.ctx, sc.caller.Account, v.QueueName, v.Attributes, v.Tags)
	if err != nil {
		return nil, err
	}
	return &queueURLOutput{QueueURL: sqs.URL(sc.queueBase(), q.Account, q.Name)}, nil
}

type getQueueURLInput struct {
	sqsQueueRef
	QueueName string `json:"QueueName"`
	Owner     string `json:"QueueOwnerAWSAccountId"`
}

func (v *getQueueURLInput) named(caller string) (string, string) {
	if v.Owner != "" {
		return v.Owner, v.QueueName
	}
	return caller, v.QueueName
}

func formGetQueueURL(p sqsParams, v *getQueueURLInput) error {
	v.QueueName, v.Owner = p.Get("QueueName"), p.Get("QueueOwnerAWSAccountId")
	return nil
}

func runGetQueueURL(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	account, name := r.named(sc.caller.Account)
	q, err := s.cfg.SQS.GetQueue(sc.ctx, account, name)
	if err != nil {
		return nil, err
	}
	return &queueURLOutput{QueueURL: sqs.URL(sc.queueBase(), q.Account, q.Name)}, nil
}

type listQueuesInput struct {
	sqsQueueRef
	Prefix     string `json:"QueueNamePrefix"`
	NextToken  string `json:"NextToken"`
	MaxResults *int   `json:"MaxResults"`
}

func formListQueues(p sqsParams, v *listQueuesInput) (err error) {
	v.Prefix, v.NextToken = p.Get("QueueNamePrefix"), p.Get("NextToken")
	v.MaxResults, err = p.intp("MaxResults")
	return err
}

type queueURLsOutput struct {
	QueueURLs []string `json:"QueueUrls,omitempty"`
	NextToken string   `json:"NextToken,omitempty"`
}

func (o *queueURLsOutput) writeXML(w *sqsXML) {
	for _, u := range o.QueueURLs {
		w.text("QueueUrl", u)
	}
	w.optText("NextToken", o.NextToken)
}

// maxResults reads MaxResults: absent is 0 (no paging), present must be
// 1..1000.
func maxResults(v *int) (int, error) {
	if v == nil {
		return 0, nil
	}
	if *v < 1 || *v > 1000 {
		return 0, awserr.New(awserr.InvalidParameterValue,
			"Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", *v)
	}
	return *v, nil
}

func runListQueues(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*listQueuesInput)
	n, err := maxResults(v.MaxResults)
	if err != nil {
		return nil, err
	}
	names, next, err := s.cfg.SQS.ListQueues(sc.ctx, sc.caller.Account, v.Prefix, n, v.NextToken)
	if err != nil {
		return nil, err
	}
	out := &queueURLsOutput{NextToken: next}
	for _, name := range names {
		out.QueueURLs = append(out.QueueURLs, sqs.URL(sc.queueBase(), sc.caller.Account, name))
	}
	return out, nil
}

type listSourcesInput struct {
	sqsQueueRef
	NextToken  string `json:"NextToken"`
	MaxResults *int   `json:"MaxResults"`
}

func formListSources(p sqsParams, v *listSourcesInput) (err error) {
	v.QueueURL, v.NextToken = p.Get("QueueUrl"), p.Get("NextToken")
	v.MaxResults, err = p.intp("MaxResults")
	return err
}

// sourcesOutput is ListDeadLetterSourceQueues' output (its list member is
// "queueUrls" in the JSON model).
type sourcesOutput struct {
	QueueURLs []string `json:"queueUrls"`
	NextToken string   `json:"NextToken,omitempty"`
}

func (o *sourcesOutput) writeXML(w *sqsXML) {
	for _, u := range o.QueueURLs {
		w.text("QueueUrl", u)
	}
	w.optText("NextToken", o.NextToken)
}

func runListSources(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*listSourcesInput)
	n, err := maxResults(v.MaxResults)
	if err != nil {
		return nil, err
	}
	names, next, err := s.cfg.SQS.ListDeadLetterSourceQueues(sc.ctx, v.account, v.name, n, v.NextToken)
	if err != nil {
		return nil, err
	}
	out := &sourcesOutput{QueueURLs: []string{}, NextToken: next}
	for _, name := range names {
		out.QueueURLs = append(out.QueueURLs, sqs.URL(sc.queueBase(), v.account, name))
	}
	return out, nil
}

func runDeleteQueue(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*sqsQueueRef)
	return nil, s.cfg.SQS.DeleteQueue(sc.ctx, v.account, v.name)
}

func runPurgeQueue(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*sqsQueueRef)
	return nil, s.cfg.SQS.PurgeQueue(sc.ctx, v.account, v.name)
}

type getAttributesInput struct {
	sqsQueueRef
	AttributeNames []string `json:"AttributeNames"`
}

func formGetAttributes(p sqsParams, v *getAttributesInput) (err error) {
	v.QueueURL = p.Get("QueueUrl")
	v.AttributeNames, err = p.list("AttributeName")
	return err
}

type attributesOutput struct {
	Attributes map[string]string `json:"Attributes,omitempty"`
}

func (o *attributesOutput) writeXML(w *sqsXML) {
	writeMapXML(w, "Attribute", "Name", "Value", o.Attributes)
}

func runGetAttributes(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*getAttributesInput)
	attrs, err := s.cfg.SQS.GetQueueAttributes(sc.ctx, v.account, v.name, v.AttributeNames)
	if err != nil {
		return nil, err
	}
	return &attributesOutput{Attributes: attrs}, nil
}

type setAttributesInput struct {
	sqsQueueRef
	Attributes map[string]string `json:"Attributes"`
}

func formSetAttributes(p sqsParams, v *setAttributesInput) (err error) {
	v.QueueURL = p.Get("QueueUrl")
	v.Attributes, err = p.pairs("Attribute", "Name", "Value")
	return err
}

func runSetAttributes(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*setAttributesInput)
	return nil, s.cfg.SQS.SetQueueAttributes(sc.ctx, v.account, v.name, v.Attributes)
}

type tagQueueInput struct {
	sqsQueueRef
	Tags map[string]string `json:"Tags"`
}

func formTagQueue(p sqsParams, v *tagQueueInput) (err error) {
	v.QueueURL = p.Get("QueueUrl")
	v.Tags, err = p.pairs("Tags", "Key", "Value")
	if err == nil && v.Tags == nil {
		// Older clients name the map "Tag".
		v.Tags, err = p.pairs("Tag", "Key", "Value")
	}
	return err
}

func runTagQueue(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*tagQueueInput)
	return nil, s.cfg.SQS.TagQueue(sc.ctx, v.account, v.name, v.Tags)
}

type untagQueueInput struct {
	sqsQueueRef
	TagKeys []string `json:"TagKeys"`
}

func formUntagQueue(p sqsParams, v *untagQueueInput) (err error) {
	v.QueueURL = p.Get("QueueUrl")
	v.TagKeys, err = p.list("TagKey")
	return err
}

func runUntagQueue(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*untagQueueInput)
	return nil, s.cfg.SQS.UntagQueue(sc.ctx, v.account, v.name, v.TagKeys)
}

type tagsOutput struct {
	Tags map[string]string `json:"Tags,omitempty"`
}

func (o *tagsOutput) writeXML(w *sqsXML) { writeMapXML(w, "Tag", "Key", "Value", o.Tags) }

func runListQueueTags(s *Server, sc *sqsCall, r sqsRequest) (sqsResult, error) {
	v := r.(*sqsQueueRef)
	tags, err := s.cfg.SQS.ListQueueTags(sc.ctx, v.account, v.name)
	if err != nil {
		return nil, err
	}
	return &tagsOutput{Tags: tags}, nil
}

// --- Batch results ---

type batchErrorEntry struct {
	ID          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message,omitempty"`
}

func (e *batchErrorEntry) writeXML(w *sqsXML) {
	w.open("BatchResultErrorEntry")
	w.text("Id", e.ID)
	w.text("SenderFault", map[bool]string{true: "true", false: "false"}[e.SenderFault])
	w.text("Code", e.Code)
	w.optText("Message", e.Message)
	w.close("BatchResultErrorEntry")
}

// batchError turns one entry's error into its result entry; internal
// errors are logged and shown as InternalError.
func (s *Server) batchError(sc *sqsCall, id string, err error) batchErrorEntry {
	e := awserr.As(err)
	_, code, status, sender := e.SQS()
	msg := e.Message
	if status >= 500 {
		s.log.LogAttrs(sc.ctx, slog.LevelError, "batch entry failed", slog.String("request_id", sc.requestID),
			slog.String("action", actionOf(sc.call)), slog.Any("err", err))
		msg = "We encountered an internal error. Please try again."
	}
	return batchErrorEntry{ID: id, SenderFault: sender, Code: code, Message: msg}
}

type idEntry struct {
	ID string `json:"Id"`
}

// idBatchOutput is DeleteMessageBatch's and ChangeMessageVisibilityBatch's
// output; entry names the XML element of a successful entry.
type idBatchOutput struct {
	Successful []idEntry         `json:"Successful"`
	Failed     []batchErrorEntry `json:"Failed"`
	entry      string
}

func (o *idBatchOutput) writeXML(w *sqsXML) {
	for _, e := range o.Successful {
		w.open(o.entry)
		w.text("Id", e.ID)
		w.close(o.entry)
	}
	for i := range o.Failed {
		o.Failed[i].writeXML(w)
	}
}

// checkBatchIDs validates a batch's entry ids.
func checkBatchIDs[E any](entry string, entries []E, id func(E) string) error {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = id(e)
	}
	return sqs.CheckBatchIDs(entry, ids)
}

// seconds converts optional whole seconds to a duration.
func seconds(v *int) *time.Duration {
	if v == nil {
		return nil
	}
	d := time.Duration(*v) * time.Second
	return &d
}

// selectSystem picks the system attributes names ask for ("All" for all).
func selectSystem(all map[string]string, names []string) map[string]string {
	if len(names) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, v := range all {
		if slices.Contains(names, "All") || slices.Contains(names, k) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
