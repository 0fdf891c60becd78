package replica

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// testSnapshot writes a snapshot of n principals and two policies and
// returns its bytes.
func testSnapshot(t testing.TB, n int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "snapshot")
	seq := sequence{Seq: 7, Time: time.Unix(1800000000, 0).UTC(), Prev: 6, PrevTime: time.Unix(1799990000, 0).UTC()}
	sw, err := createSnapshot(path, seq, []policyPrint{{name: "default", print: fingerprint{1}}, {name: "strict", print: fingerprint{2}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		p := principalPrint{name: "user" + strconv.Itoa(1000+i) + "@EXAMPLE.TEST", attributes: 0x80, maxLife: 36000, maxRenew: -1,
			expiration: uint32(i), policy: "default", kvno: uint16(i % 5), keys: fingerprint{byte(i)}, tl: fingerprint{15: byte(i)}}
		if err := sw.add(&p); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.finish(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readSnapshot reads every record of a snapshot held in b, and writes
// them back with snapshotWriter.
func readSnapshot(t testing.TB, b []byte) (again []byte, err error) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sr, err := openSnapshot(path)
	if err != nil {
		return nil, err
	}
	defer sr.close()
	sw, err := createSnapshot(filepath.Join(dir, "out"), sr.seq, sr.policies)
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := sr.next()
		if err != nil {
			sw.abandon()
			return nil, err
		}
		if p == nil {
			break
		}
		if err := sw.add(p); err != nil {
			t.Fatalf("a record the reader accepted was refused by the writer: %v", err)
		}
	}
	if err := sw.finish(); err != nil {
		t.Fatal(err)
	}
	return os.ReadFile(filepath.Join(dir, "out"))
}

func TestSnapshotRoundTrip(t *testing.T) {
	b := testSnapshot(t, 1000)
	again, err := readSnapshot(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Error("snapshot differs after a read and a write")
	}
}

func TestSnapshotDamageIsRefused(t *testing.T) {
	b := testSnapshot(t, 50)
	for _, cut := range []int{len(b) - 1, len(b) - 5, len(b) / 2, 10} {
		if _, err := readSnapshot(t, b[:cut]); err == nil {
			t.Errorf("a snapshot cut to %d of %d bytes was read", cut, len(b))
		}
	}
	for i := len(snapshotMagic); i < len(b); i += 7 {
		bad := bytes.Clone(b)
		bad[i] ^= 0x40
		if _, err := readSnapshot(t, bad); err == nil {
			t.Errorf("a snapshot with byte %d flipped was read", i)
		}
	}
	if _, err := readSnapshot(t, append(bytes.Clone(b), 0)); err == nil {
		t.Error("a snapshot with a byte appended was read")
	}
}

// FuzzSnapshot reads damaged snapshots: never a panic, and what is read
// is written back byte for byte.
func FuzzSnapshot(f *testing.F) {
	f.Add(testSnapshot(f, 3))
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		again, err := readSnapshot(t, b)
		if err == nil && !bytes.Equal(again, b) {
			t.Errorf("accepted snapshot differs after a read and a write")
		}
	})
}
