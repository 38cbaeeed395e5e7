package sqs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A receipt handle names one receive of one message. It is the receipt's
// fields, sealed with AES-256-GCM under a key derived from the server key
// (shared by every server on the store), so that clients can neither read
// nor forge them, and bound to the queue incarnation it came from.
//
// Wire form: base64url(version || nonce || ciphertext). Plaintext: kind,
// queue id, stream sequence, receive count and receive time (unix ms);
// then for a standard queue the consumer's ack subject of this delivery,
// for a FIFO queue the group key and the receive's token.
type receipt struct {
	kind  byte
	queue string // queue incarnation id
	seq   uint64
	count uint64 // ApproximateReceiveCount at this receive
	at    int64  // receive time, unix ms
	reply string // standard: the delivery's $JS.ACK subject
	group string // FIFO: group key
	token uint64 // FIFO: this receive's token
}

const (
	kindStandard byte = 1
	kindFIFO     byte = 2

	receiptVersion = 1
	// MaxReceiptHandle is the longest receipt handle accepted, in bytes.
	MaxReceiptHandle = 1024
	maxReplyLen      = 512
)

var errBadReceipt = errors.New("sqs: invalid receipt handle")

// sealer seals and opens receipt handles.
type sealer struct{ aead cipher.AEAD }

func newSealer(serverKey []byte) (*sealer, error) {
	if len(serverKey) < 32 {
		return nil, errors.New("sqs: receipt key must be at least 32 bytes")
	}
	m := hmac.New(sha256.New, serverKey)
	m.Write([]byte("cloister sqs receipt handle v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("sqs: receipt cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sqs: receipt cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

var receiptAAD = []byte("cloister-sqs-receipt")

func (s *sealer) seal(r receipt) string {
	pt := make([]byte, 0, 64+len(r.reply)+len(r.group))
	pt = append(pt, r.kind)
	pt = appendString(pt, r.queue)
	pt = binary.AppendUvarint(pt, r.seq)
	pt = binary.AppendUvarint(pt, r.count)
	pt = binary.AppendUvarint(pt, uint64(r.at))
	switch r.kind {
	case kindStandard:
		pt = appendString(pt, r.reply)
	case kindFIFO:
		pt = appendString(pt, r.group)
		pt = binary.BigEndian.AppendUint64(pt, r.token)
	}
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(pt)+s.aead.Overhead())
	out[0] = receiptVersion
	if _, err := rand.Read(out[1:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	out = s.aead.Seal(out, out[1:1+s.aead.NonceSize()], pt, receiptAAD)
	return base64.RawURLEncoding.EncodeToString(out)
}

// open verifies and decodes a receipt handle. Any failure is errBadReceipt.
func (s *sealer) open(handle string) (receipt, error) {
	if handle == "" || len(handle) > MaxReceiptHandle {
		return receipt{}, errBadReceipt
	}
	raw, err := base64.RawURLEncoding.DecodeString(handle)
	ns := s.aead.NonceSize()
	if err != nil || len(raw) < 1+ns+s.aead.Overhead() || raw[0] != receiptVersion {
		return receipt{}, errBadReceipt
	}
	pt, err := s.aead.Open(nil, raw[1:1+ns], raw[1+ns:], receiptAAD)
	if err != nil {
		return receipt{}, errBadReceipt
	}
	return decodeReceipt(pt)
}

func decodeReceipt(pt []byte) (receipt, error) {
	r := reader{b: pt}
	var rc receipt
	rc.kind = r.byte()
	rc.queue = string(r.bytes())
	rc.seq = r.uvarint()
	rc.count = r.uvarint()
	at := r.uvarint()
	switch rc.kind {
	case kindStandard:
		rc.reply = string(r.bytes())
		if !strings.HasPrefix(rc.reply, "$JS.ACK.") || len(rc.reply) > maxReplyLen {
			return receipt{}, errBadReceipt
		}
	case kindFIFO:
		rc.group = string(r.bytes())
		if len(r.b) != 8 {
			return receipt{}, errBadReceipt
		}
		rc.token = binary.BigEndian.Uint64(r.b)
		r.b = nil
	default:
		return receipt{}, errBadReceipt
	}
	if r.err != nil || len(r.b) != 0 || rc.queue == "" || rc.seq == 0 || at > 1<<62 {
		return receipt{}, errBadReceipt
	}
	rc.at = int64(at)
	return rc, nil
}

// receivedAt is the receive time recorded in the receipt.
func (r receipt) receivedAt() time.Time { return time.UnixMilli(r.at) }
