// Package sigv4 verifies AWS Signature Version 4 (AWS4-HMAC-SHA256) on
// requests that real AWS clients send to Cloister: the AWS CLI v1 and v2
// (botocore) and aws-sdk-go-v2, with the Authorization header or presigned
// query parameters.
//
// It owns three things: parsing what a request claims ([Parse]), rebuilding
// the canonical request the way those clients build it, and checking the
// signature, the clock and the payload hash ([Verifier.Verify]). Between the
// two calls the API layer looks up the secret for [Auth.AccessKeyID] and
// checks [Auth.Region], [Auth.Service] and [Auth.SessionToken] itself.
//
// It must never decide who the caller is or what they may do, never look up
// or store credentials beyond the derived signing keys it caches, and never
// let a secret, signing key or session token reach an error message. Every
// error it returns is an [*Error] whose Kind is one of the exported
// sentinels and whose Message is the text AWS sends for that failure.
//
// # What a signature covers
//
// The canonical URI is built from the path exactly as it came off the wire
// (http.Request.RequestURI), URI-encoded once more as clients do for every
// service but S3: an ARN's ':' travels as %3A and is signed as %253A.
// botocore also removes '.', '..' and empty segments before signing, so a
// path that still has them verifies against its normalised form too; the API
// layer must therefore never give such segments a meaning different from
// their removal (http.ServeMux redirects them to the cleaned path; a router
// that splits the raw path itself must reject them).
//
// The canonical query decodes each name and value the way net/url does ('+'
// is a space) and re-encodes them with RFC 3986 rules, so the signature
// covers exactly what url.ParseQuery hands the API layer. A query that
// net/url would silently drop parts of (a ';' or a malformed %-escape) is
// refused by [Parse].
//
// A signed header sent on several lines is verified as its values joined
// with ','; a value's runs of spaces count as one space (SigV4 rules).
//
// The payload hash is the X-Amz-Content-Sha256 header when present,
// otherwise the SHA-256 of the body. Whenever that hash is a digest, Verify
// also checks it against the body, so an unchanged header cannot smuggle a
// changed body. UNSIGNED-PAYLOAD leaves the body unauthenticated, as in AWS.
// A presigned request without the header is accepted when it was signed over
// the body's SHA-256 (botocore) or over UNSIGNED-PAYLOAD (S3-style
// presigners); the signature itself says which.
package sigv4
