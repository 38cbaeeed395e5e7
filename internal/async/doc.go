// Package async owns Lambda's asynchronous invocations: the durable event
// queue behind Invoke with X-Amz-Invocation-Type Event (and the legacy
// InvokeAsync), the dispatcher that runs queued events on the data plane
// with Lambda's retries and maximum event age, and the delivery of outcomes
// to OnSuccess and OnFailure destinations and dead-letter queues.
//
// # Queue
//
// Events are records (event.go documents the format) in the JetStream
// stream LAMBDA_ASYNC, file storage, the store's replica count, work-queue
// retention, subject cloister.async.events.ACCOUNT. Enqueue returns only
// after the store acknowledged the publish (the embedded server fsyncs
// before it acknowledges), so an accepted event survives a crash. A
// payload above 512 KiB is first written to the object store
// lambda_async_payloads and the record refers to it, so that no message
// comes near an external cluster's default 1 MiB limit.
//
// # Dispatch
//
// One durable pull consumer, "dispatch", with explicit acknowledgements,
// serves every dispatcher (one per server sharing the store). A dispatcher
// fetches only as many events as it has free workers, and sends an
// InProgress heartbeat for each event it works on every third of AckWait
// (30 s): an event whose dispatcher crashed is redelivered within AckWait,
// not after a function's 15-minute timeout. An event is acknowledged only
// after its outcome was delivered; a retry is a new record (attempt or
// retry count advanced, a not-before time) published before the old one is
// acknowledged. Processing is therefore at least once: a crash can repeat
// an invocation or a delivery, never lose an event. A record that is not
// due yet is handed back with a delay (a negative acknowledgement).
//
// Function errors (Unhandled, Sandbox.Timedout, Runtime.*) consume
// MaximumRetryAttempts (default 2), with Lambda's delays (1, then 2
// minutes; configurable). Throttles and internal errors are retried with
// exponential backoff (1 s to 5 minutes) without consuming attempts, until
// MaximumEventAgeInSeconds (default 6 hours). With reserved concurrency 0
// and a failure target, events go straight to the failure targets, as in
// Lambda; without one they wait, like throttled events. The invoked
// qualifier (alias, version, $LATEST) is resolved when the event runs.
// Events of a deleted function (or version or alias, or a function deleted
// and created again) are dropped, logged and recorded.
//
// # Outcomes
//
// Success goes to OnSuccess; failure (retries exhausted, event too old,
// recursion stopped) to OnFailure and to the function's dead-letter queue
// ($LATEST's DeadLetterConfig) — both when both are set, as Lambda does.
// Destinations get Lambda's invocation record (version 1.0); a queue gets
// it as the message body, a function as its event, invoked asynchronously
// one hop deeper. A dead-letter queue gets the event itself with the
// message attributes RequestID, ErrorCode and ErrorMessage. Only standard
// queues and functions of the event's own account are delivered to, and
// only when the execution role of the function the event invoked is
// allowed sqs:SendMessage on the queue or lambda:InvokeFunction on the
// function (Config.AuthorizeRole decides, as a session of the role, with
// the queue's or function's policy). A message sent to a queue is one hop
// deeper than its event (see Recursion).
//
// Nothing disappears silently: a delivery that fails (queue deleted,
// message too large, FIFO queue, another account, not allowed to the
// execution role), a failed event without
// failure targets and a dropped event are logged with the request id and
// kept in the stream LAMBDA_ASYNC_UNDELIVERED for 14 days (Service.Undelivered).
//
// # Recursion
//
// Every event carries its depth (invocations that led to it) and lineage.
// A function destination's event is one deeper, and so is a queue
// destination's message (an event source mapping stops a loop through it);
// so is an Invoke whose api.InvokeRequest carries Depth. An event at depth MaxDepth (16) does not
// run: it fails to OnFailure and the dead-letter queue with a
// RecursiveInvocationException, and a warning is logged.
//
// The package must never log payloads, records or function output, never
// deliver to another account's resources, and never acknowledge an event
// before its outcome or its retry is stored.
package async
