// Package functions owns Lambda functions as a control plane sees them: their
// configuration, code references, published versions, aliases, resource
// policies, concurrency reservations, asynchronous-invocation settings and
// tags, stored in the store's key-value buckets with Lambda's validation rules
// and RevisionId semantics.
//
// Layout in the store (one record per key, each written atomically):
//
//	lambda_functions  <account>.<name>          function record: $LATEST, aliases,
//	                                             unqualified policy, event-invoke
//	                                             configs, tags, version counter
//	lambda_versions   <account>.<name>.<n>      published version n (immutable
//	                                             except its own policy)
//	lambda_accounts   <account>                 reserved concurrency per function
//	lambda_code       object <sha256 hex>       deployment packages, content-addressed
//
// Records carry the function's incarnation (a random id fixed at creation);
// versions whose incarnation differs from the live function's are leftovers of
// a deleted function and are invisible and collected.
//
// The package never runs code and never decides who may call it: the API
// layer authorizes each call before it gets here. It must never log
// environment variable values or code.
package functions
