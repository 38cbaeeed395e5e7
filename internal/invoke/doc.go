// Package invoke runs function invocations in execution environments.
//
// An environment is one sandbox (see package sandbox) running one function
// version's runtime, plus the Runtime API (2018-06-01) that this package
// serves to it on a listener inside the sandbox's network namespace. An
// environment runs one invocation at a time; it is reused only for the same
// function version with the same code and execution configuration (the pool
// key includes a fingerprint of them), and never across functions, versions
// or accounts.
//
// Lifecycle: a cold start starts a sandbox and waits (at most 10 s) for the
// runtime's first /next; an invocation hands the event to that /next and
// waits for /response or /error until the function's timeout. A timeout, a
// crash or an out-of-memory kill destroys the environment; the caller gets
// Lambda's error payload (Sandbox.Timedout, Runtime.ExitError,
// Runtime.OutOfMemory). Idle environments are reaped after IdleTimeout;
// every environment retires after MaxLifetime, between invocations.
//
// Admission enforces the account's concurrency limit and functions' reserved
// concurrency (429 TooManyRequestsException with Lambda's Reason), counted on
// this node.
//
// Runtime API: served with a small HTTP/1.1 implementation of its own
// (httpwire.go, runtimeapi.go) rather than net/http, so that an invocation's
// goroutine writes the event onto the runtime's pending GET /next and reads
// the runtime's POST /response itself: on the hot path no other goroutine is
// woken (each wake-up of an idle vCPU costs tens of microseconds on small
// VMs). Other connections, requests and failures take a slower path that
// hands outcomes over on channels. Everything the runtime sends is hostile
// input: the parser is strict, bounded and fuzzed, and a malformed request
// closes its connection.
//
// Logs: stdout and stderr of an environment share one pipe; a reader turns
// it into lines. When an invocation ends, the host writes a marker (whose
// random token the function cannot know) into the same pipe and releases the
// environment at once: the pipe is FIFO, so the reader cuts the output into
// per-invocation segments exactly at the markers and writes each
// invocation's START, output, END and REPORT lines in order, off the
// response path. Max Memory Used is the environment's peak since it
// started, as the cgroup reports it. The package never writes function
// output or payloads to the server's own log.
package invoke
