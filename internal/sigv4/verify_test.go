package sigv4

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	w := newWire(t)
	header := w.send(t, signSpec{method: "POST", path: arnPath, body: []byte("{}")}.build(t, testTime))
	presign := func(expires string) received {
		return w.send(t, signSpec{method: "GET", path: arnPath, presign: true, expires: expires}.build(t, testTime))
	}
	p60, pNone, pWeek := presign("60"), presign(""), presign("604800")
	v := NewVerifier()
	for _, tc := range []struct {
		name string
		req  received
		now  time.Time
		want error
		msg  string
	}{
		{"15 min later", header, testTime.Add(15 * time.Minute), nil, ""},
		{"15 min 1 s later", header, testTime.Add(15*time.Minute + time.Second), ErrExpired,
			"Signature expired: 20240501T120000Z is now earlier than 20240501T120001Z (20240501T121501Z - 15 min.)"},
		{"15 min earlier", header, testTime.Add(-15 * time.Minute), nil, ""},
		{"15 min 1 s earlier", header, testTime.Add(-15*time.Minute - time.Second), ErrExpired,
			"Signature not yet current: 20240501T120000Z is still later than 20240501T115959Z (20240501T114459Z + 15 min.)"},
		{"presigned 60 s, at expiry", p60, testTime.Add(60 * time.Second), nil, ""},
		{"presigned 60 s, 1 s after", p60, testTime.Add(61 * time.Second), ErrExpired, "Request has expired"},
		{"presigned, 15 min early", p60, testTime.Add(-15 * time.Minute), nil, ""},
		{"presigned, 15 min 1 s early", p60, testTime.Add(-15*time.Minute - time.Second), ErrExpired,
			"Signature not yet current: 20240501T120000Z is still later than 20240501T115959Z (20240501T114459Z + 15 min.)"},
		{"presigned without expiry, 15 min", pNone, testTime.Add(15 * time.Minute), nil, ""},
		{"presigned without expiry, 15 min 1 s", pNone, testTime.Add(15*time.Minute + time.Second), ErrExpired, "Request has expired"},
		{"presigned a week, at expiry", pWeek, testTime.Add(MaxExpires), nil, ""},
		{"presigned a week, 1 s after", pWeek, testTime.Add(MaxExpires + time.Second), ErrExpired, "Request has expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verify(v, tc.req, testSecret, tc.now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				return
			}
			var e *Error
			if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.Message != tc.msg {
				t.Fatalf("got %v\nwant %s: %q", err, tc.want, tc.msg)
			}
		})
	}
}

// TestVerifyHandBuiltAuth: Verify does not trust that Parse made a.
func TestVerifyHandBuiltAuth(t *testing.T) {
	w := newWire(t)
	got := w.send(t, signSpec{method: "GET", path: "/x"}.build(t, testTime))
	good, err := Parse(got.r)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier()
	for _, tc := range []struct {
		name string
		edit func(a *Auth) *Auth
		want error
	}{
		{"nil", func(*Auth) *Auth { return nil }, ErrMissingAuth},
		{"host not signed", func(a *Auth) *Auth { a.SignedHeaders = []string{"x-amz-date"}; return a }, ErrSignatureMismatch},
		{"expiry beyond a week", func(a *Auth) *Auth { a.Presigned, a.Expires = true, MaxExpires+time.Second; return a }, ErrIncomplete},
		{"scope date", func(a *Auth) *Auth { a.Date = "20240502"; return a }, ErrSignatureMismatch},
		{"region", func(a *Auth) *Auth { a.Region = "eu-west-1"; return a }, ErrSignatureMismatch},
		{"service", func(a *Auth) *Auth { a.Service = "iam"; return a }, ErrSignatureMismatch},
		{"signature case", func(a *Auth) *Auth { a.Signature = "A" + a.Signature[1:]; return a }, ErrSignatureMismatch},
		{"short signature", func(a *Auth) *Auth { a.Signature = a.Signature[:63]; return a }, ErrSignatureMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := *good
			if err := v.Verify(tc.edit(&a), got.r, got.body, testSecret, testTime); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestKeyCache(t *testing.T) {
	w := newWire(t)
	signedWith := func(secret string) received {
		req := sdkRequest(t, "GET", "/x", "", nil)
		c := creds("")
		c.SecretAccessKey = secret
		sdkSignCreds(t, req, hashHex(nil), c, testTime)
		return w.send(t, req)
	}
	old, rotated := signedWith(testSecret), signedWith("rotated-secret")

	t.Run("secret rotation", func(t *testing.T) {
		v := NewVerifier()
		if err := verify(v, old, testSecret, testTime); err != nil {
			t.Fatalf("old secret: %v", err)
		}
		if err := verify(v, rotated, "rotated-secret", testTime); err != nil {
			t.Fatalf("new secret after the old one was cached: %v", err)
		}
		if err := verify(v, old, "rotated-secret", testTime); !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("request signed with the old secret, checked with the new: %v", err)
		}
	})
	t.Run("zero value", func(t *testing.T) {
		var v Verifier
		if err := verify(&v, old, testSecret, testTime); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		v := NewVerifier()
		for i := range maxCachedKeys + 50 {
			v.signingKey(&Auth{AccessKeyID: "AKID", Date: "20240501", Region: strconv.Itoa(i), Service: "lambda"}, "s")
		}
		if n := len(v.keys); n > maxCachedKeys {
			t.Fatalf("%d cached keys, bound is %d", n, maxCachedKeys)
		}
		if err := verify(v, old, testSecret, testTime); err != nil {
			t.Fatalf("after evictions: %v", err)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		v := NewVerifier()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 {
					req, secret := old, testSecret
					if (g+i)%2 == 1 {
						req, secret = rotated, "rotated-secret"
					}
					if err := verify(v, req, secret, testTime); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}
