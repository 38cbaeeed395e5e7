// Package iam owns identities: accounts, their principals (the account root,
// and later users and roles) and access keys, and answers who a request's
// access key belongs to and whether that principal may act on a resource.
//
// Secrets are held as Secret values, which never print or log their
// contents. The package must never write a secret access key to a log.
package iam
