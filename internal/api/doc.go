// Package api is Cloister's HTTP front door. Every request takes the same
// path through it:
//
//	route -> authenticate (SigV4) -> read body (per-operation limit)
//	      -> verify signature -> authorize (action + resource ARN + caller)
//	      -> handle (domain package) -> write response or error -> audit
//
// Routing comes first so that a request for an unknown operation is refused
// without reading its body, and each operation's body limit applies before
// the body is read. Authorization is structural: a route declares how to
// derive its resource ARN, and the handler runs only after the Authorizer
// allowed that action on that resource.
//
// Errors from anywhere are turned into AWS's error shape in one place
// (writeError), using awserr's table of types and statuses. The package
// never logs request bodies, environment variables or secrets.
package api
