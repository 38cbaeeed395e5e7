// Package runtimes owns Cloister's catalogue of Lambda runtimes and the
// runtime clients Cloister ships for the managed-language runtimes.
//
// The catalogue has three parts:
//
//   - Known and Deprecated describe AWS's view: the Runtime enum of the
//     Lambda API model and the runtimes AWS no longer accepts. The API layer
//     validates CreateFunction and UpdateFunctionConfiguration against them.
//   - Discover probes this host for the runtimes it can really run:
//     provided.al2023 and provided.al2 always, python3.X for each working
//     /usr/bin/python3.X, and nodejsNN.x for /usr/bin/node. Each Runtime says
//     which argv the sandbox starts and which runtime-specific environment
//     variables Lambda sets for it.
//   - Install writes the embedded runtime clients (client/bootstrap.py for
//     Python, client/index.mjs for Node.js) into a content-addressed
//     directory that the sandbox bind-mounts read-only at /var/runtime.
//
// The runtime clients speak the Lambda Runtime API (2018-06-01) and load
// handlers written for AWS Lambda unmodified, behaving as far as a handler
// can observe like AWS's awslambdaric and aws-lambda-nodejs-runtime-interface-
// client: handler resolution, context objects, error shapes, log formats.
// They use only the interpreter's standard library. They take their roots
// from LAMBDA_TASK_ROOT and LAMBDA_RUNTIME_DIR (defaults /var/task and
// /var/runtime, as on Lambda) and, for tests only, _CLOISTER_OPT_DIR
// (default /opt).
//
// This package must never run function code itself: it executes host
// interpreters only to learn their versions, and starting function code is
// the sandbox's job. It must never modify an installed client directory in
// place: a directory is published by one atomic rename and, if it is ever
// found altered, replaced as a whole.
package runtimes
