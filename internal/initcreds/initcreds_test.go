package initcreds

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/krb5prop/krb5prop/internal/mittest"
	"github.com/krb5prop/krb5prop/profile"
)

// TestGetFromMITKDC gets a ticket for host/replica straight from MIT's KDC
// with host/primary's keytab key, as kprop does, and decrypts it with the
// replica's key.
func TestGetFromMITKDC(t *testing.T) {
	mittest.Require(t, "kdb5_util", "kadmin.local", "krb5kdc")
	r := mittest.NewRealm(t, "INITCREDS.TEST")
	r.MustRun(t, "kdb5_util", "-P", "pw", "create", "-s")
	for _, h := range []string{"host/primary.test", "host/replica.test"} {
		r.MustRun(t, "kadmin.local", "-q", "addprinc -randkey "+h)
	}
	r.MustRun(t, "kadmin.local", "-q", "ktadd -k "+r.Path("primary.kt")+" host/primary.test")
	r.MustRun(t, "kadmin.local", "-q", "ktadd -k "+r.Path("replica.kt")+" host/replica.test")
	kdc := r.Start(t, "krb5kdc", "-n")
	kdc.WaitPort(t, "udp", r.KDCAddr(), 10*time.Second)
	prof, err := profile.Load(r.KRB5Config)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := Get(prof, Request{Realm: r.Name, Client: []string{"host", "primary.test"},
		Service: []string{"host", "replica.test"}, Keytab: "FILE:" + r.Path("primary.kt")})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(creds.Ticket.SName.NameString, "/"); got != "host/replica.test" {
		t.Errorf("ticket for %s", got)
	}
	kt, err := keytab.Load(r.Path("replica.kt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := creds.Ticket.DecryptEncPart(kt, nil); err != nil {
		t.Fatalf("the replica's key does not open the ticket: %v", err)
	}
	if k := creds.Ticket.DecryptedEncPart.Key; k.KeyType != creds.SessionKey.KeyType || string(k.KeyValue) != string(creds.SessionKey.KeyValue) {
		t.Error("session key in the ticket differs from the one in the reply")
	}
}

func TestCanonicalizeWithoutDNS(t *testing.T) {
	prof, err := profile.Parse("krb5.conf", []byte("[libdefaults]\n dns_canonicalize_hostname = false\n qualify_shortname = example.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for in, want := range map[string]string{"Replica": "replica.example.com", "KDC2.Example.COM.": "kdc2.example.com"} {
		if got := Canonicalize(ctx, prof, in); got != want {
			t.Errorf("Canonicalize(%q) = %q, want %q", in, got, want)
		}
	}
}
