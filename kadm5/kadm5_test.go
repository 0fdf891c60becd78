package kadm5

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

const testRealm = "EXAMPLE.TEST"

var fixedNow = time.Unix(1800000000, 0)

func newRealm(t *testing.T) *Server {
	t.Helper()
	ctx := context.Background()
	store, err := kdb.Create(filepath.Join(t.TempDir(), "principal"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	params := RealmParams{Realm: testRealm, MaxLife: 36000, MaxRenewableLife: 604800, Flags: kdb.AttrRequiresPreAuth,
		KeySalts:         []krb5x.KeySalt{{Enctype: 18}, {Enctype: 17}},
		MasterKeyEnctype: 18}
	mkName := kdb.Name{Components: []string{"K", "M"}, Realm: testRealm}
	key, err := kdb.DeriveMasterKey("master-pw", mkName, 18)
	if err != nil {
		t.Fatal(err)
	}
	mk := kdb.MasterKey{KVNO: 1, Key: key}
	now := func() time.Time { return fixedNow }
	if err := CreateRealm(ctx, store, params, mkName, mk, now); err != nil {
		t.Fatal(err)
	}
	km, err := store.Get(ctx, mkName.String())
	if err != nil {
		t.Fatal(err)
	}
	mkeys, err := kdb.LoadMasterKeys(km, mk)
	if err != nil {
		t.Fatal(err)
	}
	return &Server{Store: store, MKeys: mkeys, Params: params, Caller: "root/admin@" + testRealm, Now: now}
}

func tlTypes(p *kdb.Principal) []int16 {
	var out []int16
	for _, t := range p.TLData {
		out = append(out, t.Type)
	}
	return out
}

func name(t *testing.T, s string) kdb.Name {
	n, err := kdb.ParseName(s, testRealm)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateRealmMatchesMIT(t *testing.T) {
	s := newRealm(t)
	ctx := context.Background()
	want := map[string]struct {
		attrs uint32
		life  int32
		tl    []int16
		keys  int
	}{
		"K/M":                 {0x800000 | 0x40 | 0x80, 36000, []int16{8, 9, 2}, 1},
		"krbtgt/" + testRealm: {0x800000 | 0x80, 36000, []int16{2}, 2},
		"kadmin/admin":        {0x800004, 10800, []int16{3, 2, 8, 1}, 2},
		"kadmin/changepw":     {0x802004, 300, []int16{3, 2, 8, 1}, 2},
	}
	names, err := s.ListPrincipals(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(want) {
		t.Errorf("principals = %q", names)
	}
	for n, w := range want {
		p, err := s.GetPrincipal(ctx, name(t, n))
		if err != nil {
			t.Fatal(err)
		}
		if p.Attributes != w.attrs || p.MaxLife != w.life || p.MaxRenewableLife != 604800 ||
			!reflect.DeepEqual(tlTypes(p), w.tl) || len(p.KeyData) != w.keys {
			t.Errorf("%s: attrs %#x life %d tl %v keys %d; want %#x %d %v %d", n, p.Attributes, p.MaxLife,
				tlTypes(p), len(p.KeyData), w.attrs, w.life, w.tl, w.keys)
		}
		for _, kd := range p.KeyData {
			if kd.Version != 1 || kd.KVNO != 1 {
				t.Errorf("%s: key ver %d kvno %d", n, kd.Version, kd.KVNO)
			}
			if _, err := s.MKeys.UnsealKey(p, kd); err != nil {
				t.Errorf("%s: %v", n, err)
			}
		}
	}
}

func TestPasswordKeysAndHistory(t *testing.T) {
	s := newRealm(t)
	ctx := context.Background()
	if err := s.CreatePolicy(ctx, PolicySpec{Name: "pwpol", Mask: PolMinLength | PolMinClasses | PolHistory,
		Policy: kdb.Policy{PwMinLength: 8, PwMinClasses: 2, PwHistoryNum: 3}}); err != nil {
		t.Fatal(err)
	}
	bob := name(t, "bob")
	spec := PrincipalSpec{Name: bob, Mask: MaskPolicy, Policy: "pwpol"}
	if err := s.CreatePrincipal(ctx, spec, KeysFromPassword, "short", nil); !errors.Is(err, ErrPassTooShort) {
		t.Fatalf("short password: %v", err)
	}
	if err := s.CreatePrincipal(ctx, spec, KeysFromPassword, "alllowercase", nil); !errors.Is(err, ErrPassClass) {
		t.Fatalf("one class: %v", err)
	}
	if err := s.CreatePrincipal(ctx, spec, KeysFromPassword, "Bob-pw-12", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassword(ctx, bob, "Bob-pw-34", false, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := s.GetPrincipal(ctx, bob)
	if got := tlTypes(p); !reflect.DeepEqual(got, []int16{3, 2, 8, 1}) {
		t.Errorf("tl order %v", got)
	}
	ad, _, err := p.KadmData()
	if err != nil || ad.Policy != "pwpol" || len(ad.OldKeys) != 1 || len(ad.OldKeys[0]) != 2 || ad.OldKeyNext != 1 {
		t.Errorf("kadm data %+v, %v", ad, err)
	}
	for _, kd := range p.KeyData {
		k, err := s.MKeys.UnsealKey(p, kd)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := krb5x.StringToKey(int32(kd.Enctype), "Bob-pw-34", testRealm+"bob")
		if kd.KVNO != 2 || !bytes.Equal(k.KeyValue, want.KeyValue) {
			t.Errorf("key kvno %d etype %d does not derive from the new password", kd.KVNO, kd.Enctype)
		}
	}
	hist, err := s.GetPrincipal(ctx, name(t, "kadmin/history"))
	if err != nil {
		t.Fatal(err)
	}
	if hist.MaxLife != 64 || hist.Attributes != 0 || len(hist.KeyData) != 1 || hist.KeyData[0].KVNO != 2 {
		t.Errorf("kadmin/history: %+v", hist)
	}
	if err := s.ChangePassword(ctx, bob, "Bob-pw-12", false, nil); !errors.Is(err, ErrPassReuse) {
		t.Errorf("reuse of an old password: %v", err)
	}
	if err := s.ChangePassword(ctx, bob, "Bob-pw-34", false, nil); !errors.Is(err, ErrPassReuse) {
		t.Errorf("reuse of the current password: %v", err)
	}
}

func TestSaltsKeepoldAndRename(t *testing.T) {
	s := newRealm(t)
	ctx := context.Background()
	alice := name(t, "alice")
	if err := s.CreatePrincipal(ctx, PrincipalSpec{Name: alice}, KeysFromPassword, "alice-pw-1", nil); err != nil {
		t.Fatal(err)
	}
	ks := []krb5x.KeySalt{{Enctype: 18, SaltType: krb5x.SaltSpecial}, {Enctype: 17, SaltType: krb5x.SaltNoRealm}}
	if err := s.ChangePassword(ctx, alice, "alice-pw-2", true, ks); err != nil {
		t.Fatal(err)
	}
	p, _ := s.GetPrincipal(ctx, alice)
	if len(p.KeyData) != 4 || p.KeyData[0].Version != 2 || p.KeyData[0].SaltType != 4 || len(p.KeyData[0].Salt) != 16 ||
		string(p.KeyData[1].Salt) != "alice" || p.KeyData[2].KVNO != 1 {
		t.Fatalf("keys: %+v", p.KeyData)
	}
	if err := s.RenamePrincipal(ctx, alice, name(t, "alice2")); err != nil {
		t.Fatal(err)
	}
	p, err := s.GetPrincipal(ctx, name(t, "alice2"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kd := range p.KeyData {
		k, _ := s.MKeys.UnsealKey(p, kd)
		pw := map[uint16]string{1: "alice-pw-1", 2: "alice-pw-2"}[kd.KVNO]
		want, _ := krb5x.StringToKey(int32(kd.Enctype), pw, string(kd.Salt))
		if kd.SaltType != krb5x.SaltSpecial || !bytes.Equal(k.KeyValue, want.KeyValue) {
			t.Errorf("renamed key kvno %d etype %d salt %q no longer derives from its password", kd.KVNO, kd.Enctype, kd.Salt)
		}
	}
	if _, err := s.GetPrincipal(ctx, alice); !errors.Is(err, ErrUnknownPrinc) {
		t.Errorf("old name still there: %v", err)
	}
}
