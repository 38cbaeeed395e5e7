// Package iam owns identities and what they may do: accounts (the tenancy
// boundary) and their organization, each account's root user, IAM users,
// groups and roles, inline and managed policies (customer managed and the
// AWS managed ones Cloister ships), permissions boundaries, access keys,
// temporary credentials (STS sessions) and the guardrails (service control
// policies) an operator sets per account. It answers two questions on
// every request: who signed it (LookupKey) and whether that principal may
// do it (Authorize, which gathers the policies that apply and lets package
// policy decide).
//
// State lives in the store: every entity is one KV record
// ("ACCOUNT.user.NAME", "ACCOUNT.role.NAME", "org.policy.ID", ...) written
// with compare-and-set on its revision; access keys and sessions have
// buckets of their own. The package keeps an in-memory copy of all of it,
// current by watching the store, and applies its own writes at once, so a
// request sees an identity change the moment the call that made it
// returns. Compiled policy sets are cached per principal and rebuilt when
// anything in the principal's account changes.
//
// Session tokens are random and only their SHA-256 is stored. Secrets are
// held as Secret values, which never print or log their contents.
//
// The package must never write a secret access key or session token to a
// log or an error, never fail open (a policy it cannot read, a boundary
// whose policy is gone, a session whose role was deleted: all deny), and
// never let a principal of one account reach another account's entities
// without a grant in that account.
package iam
