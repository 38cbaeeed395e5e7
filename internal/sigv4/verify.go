package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxCachedKeys bounds the signing-key cache; one key serves one access key
// in one region and service for a day, so real use needs a handful.
const maxCachedKeys = 4096

// Verifier checks signatures. It caches the derived signing keys (and keyed
// HMAC states) so that the invoke path costs two SHA-256 passes and one HMAC.
// It is safe for concurrent use; the zero value is ready to use.
type Verifier struct {
	mu   sync.RWMutex
	keys map[keyID]*signingKey
}

type keyID struct{ accessKeyID, date, region, service string }

// signingKey is the SigV4 key derived from one secret for one scope, with
// a pool of HMAC states keyed with it.
type signingKey struct {
	secret string
	key    [sha256.Size]byte
	macs   sync.Pool
}

// NewVerifier returns a Verifier with an empty key cache.
func NewVerifier() *Verifier {
	return &Verifier{keys: make(map[keyID]*signingKey)}
}

// Verify checks a's signature over r and body (the full request body, read
// by the caller) with secret, at time now: the clock skew or presign expiry,
// the scope date against the request date, the signature, and that a payload
// digest in X-Amz-Content-Sha256 is the body's. Region and service are the
// caller's to check. The error is always an *Error.
func (v *Verifier) Verify(a *Auth, r *http.Request, body []byte, secret string, now time.Time) error {
	if a == nil {
		return newError(ErrMissingAuth, msgMissingAuth)
	}
	if err := checkTime(a, now); err != nil {
		return err
	}
	if !slices.Contains(a.SignedHeaders, "host") {
		return newError(ErrSignatureMismatch, msgHostNotSigned)
	}
	var dateBuf [len(amzDateLayout)]byte
	amzDate := a.Time.UTC().AppendFormat(dateBuf[:0], amzDateLayout)
	if len(amzDate) != len(amzDateLayout) || a.Date != string(amzDate[:len(scopeDateLayout)]) {
		return errScopeDate(a.Date, a.Time.UTC().Format(amzDateLayout))
	}

	s := getScratch()
	defer putScratch(s)

	if !s.buildQuery(r.URL.RawQuery, a.Presigned) {
		return newError(ErrIncomplete, "Malformed query string.")
	}
	s.query = s.appendQuery(s.query[:0], false)
	var err error
	if s.hdrs, err = appendCanonicalHeaders(s.hdrs[:0], r, a.SignedHeaders, false); err != nil {
		return err
	}
	payloads, digest, err := s.payloadHashes(a, r, body)
	if err != nil {
		return err
	}

	// botocore signs the normalised path, aws-sdk-go-v2 the path as sent;
	// they differ only for paths with '.', '..' or empty segments.
	raw := requestPath(r)
	s.path = appendNormalizedPath(s.path[:0], raw)
	s.uris[0] = appendEscapedPath(s.uris[0][:0], s.path)
	uris := s.uris[:1]
	if string(s.path) != raw {
		s.uris[1] = appendEscapedPath(s.uris[1][:0], raw)
		uris = s.uris[:2]
	}

	key := v.signingKey(a, secret)
	matched := false
try:
	for _, uri := range uris {
		for _, payload := range payloads {
			s.canon = appendCanonicalRequest(s.canon[:0], r.Method, uri, s.query, s.hdrs, a.SignedHeaders, payload)
			s.sts = appendStringToSign(s.sts[:0], amzDate, a, s.canon)
			key.sign(s)
			if matched = hexEqual(a.Signature, s.sum[:]); matched {
				break try
			}
		}
	}
	if !matched {
		return s.mismatch(a, r, amzDate, uris[0], payloads[0])
	}
	if digest != nil {
		sum := sha256.Sum256(body)
		var want [sha256.Size]byte
		if _, err := hex.Decode(want[:], digest); err != nil || !hmac.Equal(want[:], sum[:]) {
			return newError(ErrContentHash, msgContentHashDiffers)
		}
	}
	return nil
}

// checkTime applies the 15-minute clock skew, or for presigned requests the
// skew into the future and X-Amz-Expires into the past.
func checkTime(a *Auth, now time.Time) error {
	if a.Time.After(now.Add(ClockSkew)) {
		return errSkewFuture(a.Time, now)
	}
	if a.Presigned {
		if a.Expires < 0 || a.Expires > MaxExpires {
			return newError(ErrIncomplete, msgExpiresTooLong)
		}
		if now.After(a.Time.Add(a.Expires)) {
			return newError(ErrExpired, msgPresignExpired)
		}
		return nil
	}
	if a.Time.Before(now.Add(-ClockSkew)) {
		return errSkewPast(a.Time, now)
	}
	return nil
}

var unsignedPayloadBytes = []byte(unsignedPayload)

// payloadHashes returns the payload hashes the client may have signed, and
// the hex digest the body must match when the client stated one.
func (s *scratch) payloadHashes(a *Auth, r *http.Request, body []byte) (payloads [][]byte, digest []byte, err error) {
	var stated []byte
	switch hdr := r.Header["X-Amz-Content-Sha256"]; {
	case len(hdr) > 1:
		return nil, nil, newError(ErrContentHash, msgContentHashInvalid)
	case len(hdr) == 1:
		stated = append(s.stated[:0], hdr[0]...)
		s.stated = stated
	case a.Presigned:
		stated, _ = s.queryParam("X-Amz-Content-Sha256")
	}
	switch {
	case stated == nil && a.Presigned:
		// botocore presigns over the body's hash, S3-style presigners over
		// UNSIGNED-PAYLOAD; the signature tells which.
		s.bodyHash = sha256.Sum256(body)
		hex.Encode(s.bodyHex[:], s.bodyHash[:])
		s.payloads[0], s.payloads[1] = s.bodyHex[:], unsignedPayloadBytes
		return s.payloads[:2], nil, nil
	case stated == nil:
		s.bodyHash = sha256.Sum256(body)
		hex.Encode(s.bodyHex[:], s.bodyHash[:])
		s.payloads[0] = s.bodyHex[:]
		return s.payloads[:1], nil, nil
	case string(stated) == unsignedPayload:
		s.payloads[0] = stated
		return s.payloads[:1], nil, nil
	case isHexDigest(stated):
		s.payloads[0] = stated
		return s.payloads[:1], stated, nil
	}
	return nil, nil, newError(ErrContentHash, msgContentHashInvalid)
}

func isHexDigest(b []byte) bool {
	if len(b) != 2*sha256.Size {
		return false
	}
	for _, c := range b {
		if _, ok := unhex(c); !ok {
			return false
		}
	}
	return true
}

func appendCanonicalRequest(dst []byte, method string, uri, query, hdrs []byte, signed []string, payload []byte) []byte {
	dst = append(dst, method...)
	dst = append(dst, '\n')
	dst = append(dst, uri...)
	dst = append(dst, '\n')
	dst = append(dst, query...)
	dst = append(dst, '\n')
	dst = append(dst, hdrs...)
	dst = append(dst, '\n')
	for i, name := range signed {
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = append(dst, name...)
	}
	dst = append(dst, '\n')
	return append(dst, payload...)
}

func appendStringToSign(dst, amzDate []byte, a *Auth, canon []byte) []byte {
	sum := sha256.Sum256(canon)
	dst = append(dst, Algorithm+"\n"...)
	dst = append(dst, amzDate...)
	dst = append(dst, '\n')
	dst = append(dst, a.Date...)
	dst = append(dst, '/')
	dst = append(dst, a.Region...)
	dst = append(dst, '/')
	dst = append(dst, a.Service...)
	dst = append(dst, "/"+terminator+"\n"...)
	return hex.AppendEncode(dst, sum[:])
}

// hexEqual compares a hex signature with a MAC in constant time.
func hexEqual(sig string, mac []byte) bool {
	const digits = "0123456789abcdef"
	if len(sig) != 2*len(mac) {
		return false
	}
	var d byte
	for i, b := range mac {
		d |= sig[2*i] ^ digits[b>>4]
		d |= sig[2*i+1] ^ digits[b&15]
	}
	return d == 0
}

// mismatch builds AWS's answer, with the canonical request and string to
// sign of the first variant tried, the session token redacted.
func (s *scratch) mismatch(a *Auth, r *http.Request, amzDate, uri, payload []byte) error {
	canon := appendCanonicalRequest(nil, r.Method, uri, s.query, s.hdrs, a.SignedHeaders, payload)
	sts := appendStringToSign(nil, amzDate, a, canon)
	if a.SessionToken != "" {
		hdrs, _ := appendCanonicalHeaders(nil, r, a.SignedHeaders, true)
		canon = appendCanonicalRequest(canon[:0], r.Method, uri, s.appendQuery(nil, true), hdrs, a.SignedHeaders, payload)
	}
	return errMismatch(canon, sts)
}

// signingKey returns the cached key for a's scope, deriving it when absent
// or when the secret changed.
func (v *Verifier) signingKey(a *Auth, secret string) *signingKey {
	id := keyID{a.AccessKeyID, a.Date, a.Region, a.Service}
	v.mu.RLock()
	k := v.keys[id]
	v.mu.RUnlock()
	if k != nil && secretEqual(k.secret, secret) {
		return k
	}
	k = deriveKey(secret, a.Date, a.Region, a.Service)
	// Clone: a's strings point into the request's headers.
	id = keyID{strings.Clone(id.accessKeyID), strings.Clone(id.date), strings.Clone(id.region), strings.Clone(id.service)}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys == nil {
		v.keys = make(map[keyID]*signingKey)
	}
	if _, ok := v.keys[id]; !ok && len(v.keys) >= maxCachedKeys {
		for old := range v.keys { // an arbitrary victim keeps the bound
			delete(v.keys, old)
			break
		}
	}
	v.keys[id] = k
	return k
}

func deriveKey(secret, date, region, service string) *signingKey {
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := &signingKey{secret: secret}
	copy(k.key[:], mac(mac(mac(mac([]byte("AWS4"+secret), date), region), service), terminator))
	k.macs.New = func() any { return hmac.New(sha256.New, k.key[:]) }
	return k
}

// sign puts HMAC(key, s.sts) in s.sum.
func (k *signingKey) sign(s *scratch) {
	h := k.macs.Get().(hash.Hash)
	h.Reset()
	h.Write(s.sts)
	h.Sum(s.sum[:0])
	k.macs.Put(h)
}

// secretEqual compares two of the server's own secrets without leaking
// where they differ.
func secretEqual(x, y string) bool {
	if len(x) != len(y) {
		return false
	}
	var d byte
	for i := 0; i < len(x); i++ {
		d |= x[i] ^ y[i]
	}
	return d == 0
}

// scratch holds the buffers of one verification, reused through a pool.
type scratch struct {
	canon, sts, query, hdrs, path, arena, stated []byte
	uris                                         [2][]byte
	payloads                                     [2][]byte
	pairs                                        []pair
	sum                                          [sha256.Size]byte
	bodyHash                                     [sha256.Size]byte
	bodyHex                                      [2 * sha256.Size]byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// maxPooledBuf keeps one huge request from pinning its buffers forever.
const maxPooledBuf = 64 << 10

func putScratch(s *scratch) {
	for _, b := range []*[]byte{&s.canon, &s.sts, &s.query, &s.hdrs, &s.path, &s.arena, &s.stated, &s.uris[0], &s.uris[1]} {
		if cap(*b) > maxPooledBuf {
			*b = nil
		}
	}
	if cap(s.pairs) > maxPooledBuf/8 {
		s.pairs = nil
	}
	s.payloads = [2][]byte{}
	scratchPool.Put(s)
}
