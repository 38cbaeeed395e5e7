package sqs

import (
	"bytes"
	"reflect"
	"testing"
)

var fuzzKey = []byte("fuzz-key-fuzz-key-fuzz-key-fuzz-key")

// FuzzReceiptHandle feeds arbitrary strings to the receipt-handle parser: it
// must refuse them without panicking, and a handle it accepts must be one
// it sealed.
func FuzzReceiptHandle(f *testing.F) {
	s, err := newSealer(fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.seal(receipt{kind: kindStandard, queue: "q", seq: 7, count: 2, at: 1700000000000, reply: "$JS.ACK.S.recv.2.7.9.1.0"}))
	f.Add(s.seal(receipt{kind: kindFIFO, queue: "q", seq: 1, count: 1, at: 1, group: "g", token: 42}))
	f.Add("")
	f.Add("AQ")
	f.Add("not a handle")
	f.Fuzz(func(t *testing.T, handle string) {
		r, err := s.open(handle)
		if err != nil {
			return
		}
		// Only sealed handles open; resealing what opened opens to the same.
		again, err := s.open(s.seal(r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("resealed %+v opened as %+v, %v", r, again, err)
		}
	})
}

// FuzzReceiptPlaintext feeds arbitrary plaintexts to the decoder behind the
// seal (what a holder of the key could craft): no panics, and what decodes
// round-trips.
func FuzzReceiptPlaintext(f *testing.F) {
	f.Add([]byte{kindStandard, 1, 'q', 7, 2, 1, 8, '$', 'J', 'S', '.', 'A', 'C', 'K', '.', 'x'})
	f.Add([]byte{kindFIFO, 1, 'q', 1, 1, 1, 1, 'g', 0, 0, 0, 0, 0, 0, 0, 42})
	f.Add([]byte{})
	f.Add([]byte{9})
	s, err := newSealer(fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, pt []byte) {
		r, err := decodeReceipt(pt)
		if err != nil {
			return
		}
		again, err := s.open(s.seal(r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("decoded %+v, round trip %+v, %v", r, again, err)
		}
	})
}

// FuzzEnvelope feeds arbitrary bytes to the stored-message decoder (an
// external cluster may hold bytes others wrote): no panics, and what
// decodes encodes back to an equal envelope.
func FuzzEnvelope(f *testing.F) {
	e := envelope{Body: "hello", Attrs: map[string]MessageAttribute{
		"s": {DataType: "String", StringValue: "v"}, "b": {DataType: "Binary", BinaryValue: []byte{0, 1}},
	}, System: map[string]MessageAttribute{traceHeader: {DataType: "String", StringValue: "Root=1"}}}
	f.Add(e.marshal())
	f.Add((&envelope{Body: "x"}).marshal())
	f.Add([]byte{envelopeMagic, envelopeVersion})
	f.Add([]byte{envelopeMagic, envelopeVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	deep := e
	deep.Depth = 17
	f.Add(deep.marshal())
	f.Add((&envelope{Body: "x", Depth: maxEnvelopeDepth}).marshal())
	f.Add([]byte{envelopeMagic, envelopeDepthVersion, 1, 'x', 0, 0, 0})
	f.Add([]byte{envelopeMagic, envelopeDepthVersion, 1, 'x', 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := unmarshalEnvelope(b)
		if err != nil {
			return
		}
		if got.Depth < 0 || got.Depth > maxEnvelopeDepth {
			t.Fatalf("decoded depth %d", got.Depth)
		}
		again, err := unmarshalEnvelope(got.marshal())
		if err != nil || again.Body != got.Body || !sameAttrs(again.Attrs, got.Attrs) || !sameAttrs(again.System, got.System) || again.Depth != got.Depth {
			t.Fatalf("envelope %+v did not round-trip: %+v, %v", got, again, err)
		}
	})
}

func sameAttrs(a, b map[string]MessageAttribute) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || x.DataType != y.DataType || x.StringValue != y.StringValue || !bytes.Equal(x.BinaryValue, y.BinaryValue) {
			return false
		}
	}
	return true
}

// FuzzMessageValidation runs message bodies and attribute values through
// the send path's checks: no panics, and whatever passes is within SQS's
// character set and size limits.
func FuzzMessageValidation(f *testing.F) {
	f.Add("body", "name", "Number", "1.5e3", []byte(nil))
	f.Add("\x00", "AWS.x", "Binary.png", "", []byte{1})
	f.Add("é😀", "a.b", "String.custom", "\uFFFE", []byte(nil))
	f.Fuzz(func(t *testing.T, body, name, dataType, value string, bin []byte) {
		attrs := map[string]MessageAttribute{name: {DataType: dataType, StringValue: value, BinaryValue: bin}}
		if checkBody(body) == nil && validChars(body) >= 0 {
			t.Fatalf("body %q accepted with an invalid character", body)
		}
		if _, err := checkAttributes(attrs); err == nil {
			if baseType(dataType) != "Binary" && validChars(value) >= 0 {
				t.Fatalf("attribute value %q accepted with an invalid character", value)
			}
			if MD5OfAttributes(attrs) == "" {
				t.Fatal("no digest for a valid attribute")
			}
		}
	})
}
