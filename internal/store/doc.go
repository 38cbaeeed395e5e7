// Package store owns Cloister's durable state: a NATS JetStream server
// running in-process (the default) or an external JetStream cluster, and the
// key-value buckets, object stores and streams built on it.
//
// Every acknowledged write is durable: the embedded server fsyncs each write
// before acknowledging it, and callers see success only after the ack. Writes
// to one key are atomic; Update implements optimistic concurrency on the key's
// revision, which the domain packages use for Lambda's RevisionId.
//
// The package knows nothing about Lambda: it stores bytes under keys. It must
// never log values, since they may hold secrets.
package store
