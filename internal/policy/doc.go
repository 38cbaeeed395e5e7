// Package policy owns Cloister's IAM policy language: it parses and
// validates policy documents when they are written (Parse, with IAM's
// MalformedPolicyDocument wording) and decides every API request against
// them (Evaluate), following AWS's documented evaluation logic for
// identity-based policies, resource-based policies, role trust policies,
// permissions boundaries, session policies and account guardrails that act
// like service control policies.
//
// The package is pure: it does no I/O, reads no clock and keeps no state
// between calls. The caller gathers the policies that apply, fills the
// request context (including aws:CurrentTime, see Context.SetTime) and maps
// a Result to an AccessDenied error.
//
// Grammar: Version ("2012-10-17"; "2008-10-17" or no Version turns policy
// variables off), Id, Statement (an object or an array), and in each
// statement Sid, Effect, Principal/NotPrincipal, Action/NotAction,
// Resource/NotResource and Condition. Documents are read by a strict JSON
// reader that refuses duplicate member names, invalid UTF-8 and nesting
// deeper than a policy needs, and is bounded by MaxDocumentSize.
//
// Matching: actions match case-insensitively; resources and ARNs match
// case-sensitively, and a * may span ':' and '/' in a Resource element. In
// ArnEquals/ArnLike conditions each of the six parts of an ARN is matched on
// its own. Values substituted for policy variables are always literal text.
//
// Cost: parsing is linear in the document. Evaluating a request examines
// every statement of every policy given, once; a wildcard match is linear
// for ordinary patterns and falls back to a bit-parallel automaton
// (len(value) * len(pattern) / 64 word operations) for patterns built to
// backtrack, so a hostile policy cannot make one evaluation quadratic. The
// cost is also linear in the request's strings, so callers must bound what
// they put in a Context (AWS's own limits: 2 KiB ARNs, 256-byte tag values).
//
// The package must never fail open: an unusable input (a nil policy, a
// policy of the wrong kind in a slot, an unknown principal type) is denied,
// the zero Decision is ImplicitDeny, and a policy variable that cannot be
// resolved makes the value that holds it match nothing, under negated
// operators too. It must never log or keep request data.
package policy
