// Package sqs owns Cloister's queues: an Amazon SQS-compatible queue
// service on NATS JetStream, with the Go API the rest of Cloister (event
// source mappings, destinations, dead-letter queues) uses directly and the
// operations internal/api serves to SQS clients.
//
// # Guarantees
//
// A message is accepted only once JetStream has stored it (the embedded
// server fsyncs before acknowledging; an external cluster replicates it to
// the configured replicas), so an accepted message is never lost and
// survives restarts. The same code runs against the embedded server and an
// external cluster; several Cloister servers may share one cluster, and
// every piece of queue state below lives in JetStream, not in a server.
//
// # Mapping onto JetStream
//
// Queue records (attributes, tags, the current incarnation id) are a KV
// bucket, sqs_queues, keyed ACCOUNT.NAME and mirrored in memory. Each queue
// incarnation has its own stream, SQS_<id>, so that a queue's retention
// period is simply the stream's MaxAge, PurgeQueue a stream purge and
// DeleteQueue a stream deletion; a queue created again under the same name
// gets a fresh id, so no message or receipt handle of the old one reaches
// it.
//
// Standard queues use the stream with work-queue retention and one durable
// pull consumer with explicit acks. A delivery is a receive: the
// consumer's delivery count is ApproximateReceiveCount (kept by JetStream
// across restarts), its AckWait is the queue's visibility timeout, a nak
// with delay is a per-receive or changed visibility timeout (and a plain
// nak a zero one), and an ack deletes the message. Nothing else is ever
// delivered through that consumer, which is what keeps the count exact:
// delayed messages wait in a separate stream, SQS_DELAY, whose own
// consumer moves each one into its queue when it is due (see delay.go).
// The consumer's MaxAckPending is the queue's in-flight limit (SQS's
// 120,000, Config.InFlightLimit); a receive that finds nothing ready checks
// it and answers OverLimit at the limit, as SQS does, instead of waiting.
//
// FIFO queues need what a consumer cannot express (a message group is
// blocked while any of its messages is in flight), so they do not use one:
// each group is a subject of the queue's stream in send order, and each
// group's receive state (per received message: receive count, first
// receive, visibility deadline, receipt token) is one record of the
// sqs_fifo_groups bucket, changed only by compare-and-set. A receive
// leases the head messages of groups with nothing in flight; a delete
// removes the message from the stream. Deduplication is the stream's
// Nats-Msg-Id window (five minutes), keyed by MessageDeduplicationId (or
// the body's SHA-256), per group when DeduplicationScope is messageGroup.
// Long polls wait on a core NATS subject that sends, deletes and
// visibility changes on every server publish to.
//
// A message received more than maxReceiveCount times moves to the
// dead-letter queue on its next receive, keeping its MessageId, send time
// and attributes, deduplicated so that a crash mid-move leaves one copy.
//
// A message sent by a function (through the API, while it serves an
// invocation) carries a depth, one more than that invocation's, in its
// stored envelope: it moves with the message (delay, redrive), is never
// shown to clients, and lets event source mappings stop recursive loops.
//
// # Receipt handles
//
// A receipt handle is the receive's coordinates (queue incarnation, stream
// sequence, receive count and time, and the delivery's ack subject or the
// FIFO receive token) sealed with AES-256-GCM under a key derived from the
// server key in the store's meta bucket: clients can neither read nor
// forge one, and one queue's handles are refused by every other. On a
// standard queue an earlier handle of a message still deletes it (SQS
// documents that a delete succeeds, and removes the message even while
// another reader holds it); on a FIFO queue only the latest receive's
// handle counts, and an older one is ReceiptHandleIsInvalid.
//
// # Approximations
//
// ApproximateNumberOfMessages counts a standard queue's undelivered
// messages; a message whose visibility timeout ran out counts as not
// visible until it is received again. A FIFO queue reports no delayed
// messages. Changing a standard queue's VisibilityTimeout also re-times
// messages already in flight, and ChangeMessageVisibility on a message
// whose timeout ran out makes it invisible again instead of failing.
// ApproximateFirstReceiveTimestamp is remembered by the server that first
// delivered the message and recorded in the store on the first
// redelivery; a first receive on a server that stopped before then is
// taken to be the redelivery's time. Messages are at most 256 KiB, SQS's
// classic limit, so that they fit an external cluster's default payload
// limit. A FIFO receive looks at every message group that holds messages,
// so its cost grows with the number of such groups.
//
// The package must never log message bodies, attribute values or receipt
// handles, never deliver a message of one queue through another, and never
// acknowledge a send before JetStream has stored it.
package sqs
