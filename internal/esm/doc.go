// Package esm owns Lambda's event source mappings from Cloister's queues
// (package sqs) to functions: their configuration, as the
// Create/Get/Update/Delete/ListEventSourceMappings operations see it, and
// the pollers that move messages from a queue into synchronous invocations
// of a function.
//
// # State
//
// Each mapping is one record in the KV bucket lambda_esm, keyed by its
// UUID and changed only by compare-and-set on the key's revision. A second
// bucket, lambda_esm_claims, holds one key per (account, queue, function
// ARN) whose value is the UUID of the mapping that claims the pair, so that
// two concurrent creates of the same mapping on any number of servers
// cannot both succeed. A claim is taken before the mapping record is
// written and released after it is gone; a claim whose mapping does not
// exist (a crash between the two writes) is stale and is taken over.
//
// The API writes the desired state (Creating, Enabling, Updating,
// Disabling, Deleting); every server watches the bucket, starts or stops
// its pollers to match, and then completes the transition (Enabled,
// Disabled, or the record's removal) with a compare-and-set, which exactly
// one server wins. A server that starts picks up every mapping from the
// watch's initial values, including transitions a crash interrupted.
//
// # Pollers
//
// Every server polls every enabled mapping: SQS semantics (a received
// message is invisible to other receivers until its visibility timeout)
// make that safe, and each server's MaximumConcurrency is applied to its
// own pollers. A mapping's pollers long-poll the queue with the queue's
// visibility timeout, gather up to BatchSize messages within the batching
// window (and within the 6 MB synchronous payload limit), delete the
// messages no filter matches without invoking, build Lambda's SQS event
// and invoke the function synchronously. A message is deleted only after
// the invocation that carried it succeeded (with ReportBatchItemFailures,
// every message except those the response names); otherwise it stays in
// the queue, becomes visible again, and the queue's redrive policy moves it
// to its dead-letter queue once it was received maxReceiveCount times.
// Pollers scale up, one at a time, while batches come back full, up to
// MaximumConcurrency (or Config.MaxPollers) and the function's reserved
// concurrency, and down when a receive finds the queue empty or the
// function is throttled. A throttled invocation (429 from the data plane)
// is retried with back-off for up to half the queue's visibility timeout;
// after that its messages are left to become visible again.
//
// A mapping whose function or queue is gone stays, as in Lambda, and
// reports the problem in LastProcessingResult; its pollers then stop
// receiving (so no receive count is spent) until the function or queue
// exists again.
//
// # Access
//
// Lambda polls with the function's execution role, so a mapping needs the
// role to be allowed sqs:ReceiveMessage, sqs:DeleteMessage and
// sqs:GetQueueAttributes on the queue: by its identity-based policies
// (within its permissions boundary and its account's guardrails), and for
// a queue of another account by the queue's policy as well. Create, an
// Update that changes the function or enables the mapping, and every
// poller (again every minute, and when the role changes) ask
// Config.AuthorizeRole as a session of the role; a refusal is Lambda's
// InvalidParameterValueException, or a PROBLEM in LastProcessingResult
// while the pollers wait.
//
// # Recursive loops
//
// A message a function sent while serving an invocation carries a depth
// one more than that invocation's (package sqs stores it). A batch's
// invocation has the depth of its deepest message. A message deeper than
// MaxDepth (16, as direct invocations count) does not invoke the function:
// it is left in flight, becomes visible after its visibility timeout and
// so reaches the queue's dead-letter queue once its redrive policy says
// so, and a warning is logged: Lambda's recursive loop detection.
//
// The package never authorizes API callers (package api does, before it
// is called) and never runs code itself (the data plane does, through
// Config.Invoke). It must never log message bodies, attribute values,
// receipt handles or function payloads, and never delete a message whose
// processing did not succeed.
package esm
