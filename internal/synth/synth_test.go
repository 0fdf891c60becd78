package synth

import (
	"bytes"
	"io"
	"testing"

	"github.com/krb5prop/krb5prop/kdb/dump"
)

func TestWriteDumpReadsBack(t *testing.T) {
	var buf bytes.Buffer
	r := Realm{Name: "SYNTH.TEST", MasterPassword: "pw", Users: 100, Generation: 7}
	if err := WriteDump(&buf, r); err != nil {
		t.Fatal(err)
	}
	rd, err := dump.NewReader(&buf, "synth", nil)
	if err != nil {
		t.Fatal(err)
	}
	var last string
	princs, users := 0, 0
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Principal == nil {
			continue
		}
		name := rec.Principal.Name.String()
		if name <= last {
			t.Fatalf("%q after %q: not in bytewise order", name, last)
		}
		last = name
		princs++
		if rec.Principal.MaxRenewableLife == 7 {
			users++
		}
	}
	if princs != 104 || users != 100 {
		t.Errorf("%d principals, %d users", princs, users)
	}
}
