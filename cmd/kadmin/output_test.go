package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/kdb"
)

func TestStrdur(t *testing.T) {
	for d, want := range map[int64]string{
		0: "0 days 00:00:00", 36000: "0 days 10:00:00", 86400: "1 day 00:00:00",
		604800: "7 days 00:00:00", 93784: "1 day 02:03:04", -3600: "-0 days 01:00:00",
		-90061: "-1 day 01:01:01",
	} {
		if got := strdur(d); got != want {
			t.Errorf("strdur(%d) = %q, want %q", d, got, want)
		}
	}
}

func TestStrdate(t *testing.T) {
	if got := strdate(1893456000, time.UTC); got != "Tue Jan 01 00:00:00 UTC 2030" {
		t.Errorf("got %q", got)
	}
	// Past 2038 as unsigned, as MIT's ts2tt does.
	if got := strdate(2209024800, time.UTC); got != "Sun Jan 01 10:00:00 UTC 2040" {
		t.Errorf("got %q", got)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err == nil {
		if got := strdate(1893456000, ny); got != "Mon Dec 31 19:00:00 EST 2029" {
			t.Errorf("got %q", got)
		}
	}
}

// TestGetprincLayout checks the long form against the bob entry of the MIT
// fixture (getprinc.txt).
func TestGetprincLayout(t *testing.T) {
	v := principalView{
		name: "bob@FIXTURE.TEST", expire: 1893456000, lastPwdChange: 1795447192, maxLife: 36000,
		maxRenew: 604800, modName: "root/admin@FIXTURE.TEST", modDate: 1795447192,
		attributes: kdb.AttrDisallowForwardable, kvno: 2, mkvno: 1, policy: "pwpol",
		keys: []kdb.KeyData{{Version: 1, KVNO: 2, Enctype: 18}, {Version: 1, KVNO: 2, Enctype: 17}},
	}
	var b bytes.Buffer
	writeGetprinc(&b, v, true, time.UTC)
	want := `Principal: bob@FIXTURE.TEST
Expiration date: Tue Jan 01 00:00:00 UTC 2030
Last password change: Mon Nov 23 15:19:52 UTC 2026
Password expiration date: [never]
Maximum ticket life: 0 days 10:00:00
Maximum renewable life: 7 days 00:00:00
Last modified: Mon Nov 23 15:19:52 UTC 2026 (root/admin@FIXTURE.TEST)
Last successful authentication: [never]
Last failed authentication: [never]
Failed password attempts: 0
Number of keys: 2
Key: vno 2, aes256-cts-hmac-sha1-96
Key: vno 2, aes128-cts-hmac-sha1-96
MKey: vno 1
Attributes: DISALLOW_FORWARDABLE
Policy: pwpol
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	v.policy = "gone"
	v.attributes = 0
	v.keys = []kdb.KeyData{{Version: 2, KVNO: 1, Enctype: 18, SaltType: 4}, {Version: 2, KVNO: 1, Enctype: 16, SaltType: 2},
		{Version: 2, KVNO: 1, Enctype: 1, SaltType: 1}}
	writeGetprinc(&b, v, false, time.UTC)
	for _, line := range []string{
		"Key: vno 1, aes256-cts-hmac-sha1-96:special\n",
		"Key: vno 1, DEPRECATED:des3-cbc-sha1:norealm\n",
		"Key: vno 1, UNSUPPORTED:<Encryption type 0x1>:<Salt type 0x1>\n",
		"Attributes:\n",
		"Policy: gone [does not exist]\n",
	} {
		if !bytes.Contains(b.Bytes(), []byte(line)) {
			t.Errorf("missing %q in\n%s", line, b.String())
		}
	}
}

func TestGetprincTerse(t *testing.T) {
	v := principalView{name: "u6@CMP.TEST", expire: 2209024800, lastPwdChange: 1795453188,
		maxLife: 36000, modName: "root/admin@CMP.TEST", modDate: 1795453189, attributes: 128, kvno: 7, mkvno: 1,
		maxRenew: 604800, keys: []kdb.KeyData{{Version: 1, KVNO: 7, Enctype: 18}, {Version: 1, KVNO: 7, Enctype: 17}}}
	var b bytes.Buffer
	writeGetprincTerse(&b, v)
	// MIT's line for the same entry.
	want := "\"u6@CMP.TEST\"\t-2085942496\t1795453188\t0\t36000\t\"root/admin@CMP.TEST\"\t1795453189\t128\t7\t1\t\"[none]\"\t604800\t0\t0\t0\t2\t1\t7\t18\t0\t1\t7\t17\t0\n"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
}

func TestGetpol(t *testing.T) {
	p := &kdb.Policy{Name: "pwpol", PwMinLength: 8, PwMinClasses: 2, PwHistoryNum: 3, PwMaxFail: 5,
		PwFailcntInterval: 60, PwLockoutDuration: 300}
	var b bytes.Buffer
	writeGetpol(&b, p, false)
	// The MIT fixture's getpol.txt.
	want := `Policy: pwpol
Maximum password life: 0 days 00:00:00
Minimum password life: 0 days 00:00:00
Minimum password length: 8
Minimum number of password character classes: 2
Number of old keys kept: 3
Maximum password failures before lockout: 5
Password failure count reset interval: 0 days 00:01:00
Password lockout duration: 0 days 00:05:00
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	p.AllowedKeysalts = "aes256-cts-hmac-sha1-96:normal"
	writeGetpol(&b, p, true)
	if want := "\"pwpol\"\t0\t0\t8\t2\t3\t0\t5\t60\t300\taes256-cts-hmac-sha1-96:normal\n"; b.String() != want {
		t.Errorf("terse %q, want %q", b.String(), want)
	}
}
