package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/awserr"
)

// codeURLTTL is how long a GetFunction code location stays valid.
const codeURLTTL = 10 * time.Minute

var hashRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// codeURL is a short-lived URL, served by Cloister, from which the package
// with this hash downloads without further authentication.
func (s *Server) codeURL(r *http.Request, hash string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	exp := strconv.FormatInt(s.cfg.Now().Add(codeURLTTL).Unix(), 10)
	q := url.Values{"Expires": {exp}, "Signature": {s.codeSignature(hash, exp)}}
	return scheme + "://" + r.Host + "/_cloister/code/" + hash + "?" + q.Encode()
}

func (s *Server) codeSignature(hash, expires string) string {
	m := hmac.New(sha256.New, s.cfg.CodeURLKey)
	m.Write([]byte("code\n" + hash + "\n" + expires))
	return hex.EncodeToString(m.Sum(nil))
}

// serveInternal serves Cloister's own unauthenticated endpoints: the health
// check and signed code downloads.
func (s *Server) serveInternal(c *call) {
	p := c.r.URL.Path
	switch {
	case p == "/_cloister/health" && c.r.Method == http.MethodGet:
		_ = c.json(http.StatusOK, map[string]string{"status": "ok"})
	case strings.HasPrefix(p, "/_cloister/code/") && c.r.Method == http.MethodGet:
		s.serveCode(c, strings.TrimPrefix(p, "/_cloister/code/"))
	default:
		s.writeError(c, awserr.New(awserr.UnknownOperation, "Unknown operation %s %s", c.r.Method, truncate(p, 128)))
	}
}

func (s *Server) serveCode(c *call, hash string) {
	q := c.r.URL.Query()
	exp, sig := q.Get("Expires"), q.Get("Signature")
	n, err := strconv.ParseInt(exp, 10, 64)
	denied := awserr.New(awserr.AccessDenied, "Request has expired or its signature is invalid.")
	if !hashRe.MatchString(hash) || err != nil || !hmac.Equal([]byte(sig), []byte(s.codeSignature(hash, exp))) {
		s.writeError(c, denied)
		return
	}
	if s.cfg.Now().Unix() > n {
		s.writeError(c, denied)
		return
	}
	data, err := s.cfg.Functions.Code(c.ctx, hash)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.w.Header().Set("Content-Type", "application/zip")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(data)
}
