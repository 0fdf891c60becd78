package asn1der

import (
	"bytes"
	"math"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
		tag  uint32
		n    int // content length
	}{
		{"short form", []byte{0x30, 0x01, 0x05}, nil, 16, 1},
		{"long form, not minimal", []byte{0x04, 0x82, 0x00, 0x01, 0xff}, nil, 4, 1},
		{"multi-octet tag", []byte{0xbf, 0x81, 0x00, 0x00}, nil, 128, 0},
		{"empty", nil, ErrOverrun, 0, 0},
		{"no length", []byte{0x30}, ErrOverrun, 0, 0},
		{"indefinite", []byte{0x30, 0x80, 0, 0}, ErrIndefinite, 0, 0},
		{"content past the end", []byte{0x04, 0x03, 1, 2}, ErrOverrun, 0, 0},
		{"length of lengths past the end", []byte{0x04, 0x84, 1}, ErrOverrun, 0, 0},
		{"huge length", []byte{0x04, 0x84, 0x7f, 0xff, 0xff, 0xff}, ErrOverrun, 0, 0},
		{"tag number overflow", []byte{0x1f, 0x8f, 0xff, 0xff, 0xff, 0x7f, 0x00}, ErrOverflow, 0, 0},
	} {
		e, _, err := Next(tc.in)
		if err != tc.want || (err == nil && (e.Tag != tc.tag || len(e.Content) != tc.n)) {
			t.Errorf("%s: tag %d, %d content octets, %v; want tag %d, %d, %v", tc.name, e.Tag, len(e.Content), err, tc.tag, tc.n, tc.want)
		}
	}
}

func TestIntegersRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, math.MaxInt32, math.MinInt32, math.MaxUint32, math.MaxInt64, math.MinInt64} {
		enc := AppendInt(nil, v)
		got, err := Int(enc)
		if err != nil || got != v {
			t.Errorf("%d: encoded % x, decoded %d, %v", v, enc, got, err)
		}
	}
	// MIT's k5_asn1_encode_uint: a leading zero octet keeps 2^31 positive.
	if got := AppendInt(nil, 1<<31); !bytes.Equal(got, []byte{0x02, 0x05, 0x00, 0x80, 0, 0, 0}) {
		t.Errorf("2^31 encodes as % x", got)
	}
	if _, err := Int32(AppendInt(nil, 1<<31)); err != ErrOverflow {
		t.Errorf("Int32 of 2^31: %v, want overflow", err)
	}
	if _, err := Uint32(AppendInt(nil, -1)); err != ErrOverflow {
		t.Errorf("Uint32 of -1: %v, want overflow", err)
	}
}

func TestSequence(t *testing.T) {
	var body []byte
	body = AppendCtxInt(body, 0, 5)
	body = AppendCtxString(body, 2, TagGeneralString, []byte("EXAMPLE.COM"))
	body = AppendCtxInt(body, 1, 7) // out of order: ends the sequence
	seq := AppendSequence(nil, body)
	f, err := Sequence(seq, Tags(0, 1, 2), Tags(0))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := Int(f[0]); v != 5 || f[1] != nil {
		t.Errorf("fields 0 and 1: %d, % x", v, f[1])
	}
	if s, _ := GeneralString(f[2]); s != "EXAMPLE.COM" {
		t.Errorf("field 2: %q", s)
	}
	if _, err := Sequence(seq, Tags(0, 1, 2), Tags(0, 1)); err != ErrMissingField {
		t.Errorf("required field 1: %v, want missing field", err)
	}
	if _, err := Sequence(append(seq, 0), Tags(0, 1, 2), 0); err != ErrBadLength {
		t.Errorf("trailing octet: %v, want bad length", err)
	}
}

func TestKerberosTime(t *testing.T) {
	want := time.Date(2026, 11, 23, 19, 0, 1, 0, time.UTC)
	enc := AppendKerberosTime(nil, want.In(time.FixedZone("X", 3600)))
	if got, err := KerberosTime(enc); err != nil || !got.Equal(want) {
		t.Errorf("round trip: %v, %v", got, err)
	}
	for _, s := range []string{"20261323190001Z", "2026112319000aZ", "20261123190001+"} {
		if _, err := KerberosTime(AppendTLV(nil, TagGeneralizedTime, []byte(s))); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}

// FuzzDecode: no input makes the decoders panic, and a decoded element
// re-encodes to the octets it came from when its length was minimal.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0xa0, 0x01, 0x05})
	f.Add(AppendSequence(nil, AppendCtxInt(nil, 0, 1<<31)))
	f.Add([]byte{0x04, 0x82, 0x00, 0x01, 0xff})
	f.Add(AppendKerberosTime(nil, time.Unix(0, 0)))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, _, err := Next(b)
		if err == nil && e.Tag < 31 && len(e.Full) == TLVSize(len(e.Content)) {
			id := e.Class | byte(e.Tag)
			if e.Constructed {
				id |= 0x20
			}
			if got := AppendTLV(nil, id, e.Content); !bytes.Equal(got, e.Full) {
				t.Fatalf("re-encoded % x, read % x", got, e.Full)
			}
		}
		Sequence(b, 0x1fff, 0)
		SequenceOf(b, func(el []byte) error { _, err := Int(el); return err })
		Uint32(b)
		KerberosTime(b)
	})
}
