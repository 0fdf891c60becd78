package kadm5

import (
	"context"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

func TestStringAttributes(t *testing.T) {
	s := newRealm(t)
	ctx := context.Background()
	n := name(t, "svc")
	if err := s.CreatePrincipal(ctx, PrincipalSpec{Name: n}, KeysRandom, "", nil); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"a", "1"}, {"b", "2"}, {"a", "3"}} {
		if err := s.SetString(ctx, n, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetStrings(ctx, n)
	if want := []kdb.StringAttr{{Key: "a", Value: "3"}, {Key: "b", Value: "2"}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	for _, k := range []string{"a", "nosuch", "b"} {
		if err := s.DeleteString(ctx, n, k); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.GetPrincipal(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	// MIT keeps an empty item once the last attribute is gone.
	if b, ok := p.TL(kdb.TLStringAttrs); !ok || len(b) != 0 {
		t.Errorf("tl-data %q, %v", b, ok)
	}
	if err := s.SetString(ctx, name(t, "nobody"), "a", "b"); !errors.Is(err, ErrUnknownPrinc) {
		t.Errorf("unknown principal: %v", err)
	}
}

func TestPurgeKeys(t *testing.T) {
	s := newRealm(t)
	ctx := context.Background()
	n := name(t, "p")
	if err := s.CreatePrincipal(ctx, PrincipalSpec{Name: n}, KeysRandom, "", nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := s.RandomizeKeys(ctx, n, true, nil); err != nil {
			t.Fatal(err)
		}
	}
	kvnos := func() []uint16 {
		p, err := s.GetPrincipal(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint16
		for _, kd := range p.KeyData {
			out = append(out, kd.KVNO)
		}
		return out
	}
	if err := s.PurgeKeys(ctx, n, 3); err != nil {
		t.Fatal(err)
	}
	if got := kvnos(); !reflect.DeepEqual(got, []uint16{4, 4, 3, 3}) {
		t.Errorf("after -keepkvno 3: %v", got)
	}
	if err := s.PurgeKeys(ctx, n, -1); err != nil {
		t.Fatal(err)
	}
	if got := kvnos(); !reflect.DeepEqual(got, []uint16{4, 4}) {
		t.Errorf("after purgekeys: %v", got)
	}
	if err := s.PurgeKeys(ctx, n, PurgeAll); err != nil {
		t.Fatal(err)
	}
	if got := kvnos(); len(got) != 0 {
		t.Errorf("after -all: %v", got)
	}
}

func TestProtectedPrincipals(t *testing.T) {
	s := newRealm(t)
	ctx := context.Background()
	if err := s.DeletePrincipal(ctx, name(t, "K/M")); !errors.Is(err, ErrProtectPrinc) {
		t.Errorf("delete K/M: %v", err)
	}
	if err := s.CreatePolicy(ctx, PolicySpec{Name: "h", Mask: PolHistory, Policy: kdb.Policy{PwHistoryNum: 2}}); err != nil {
		t.Fatal(err)
	}
	u := name(t, "u")
	if err := s.CreatePrincipal(ctx, PrincipalSpec{Name: u, Mask: MaskPolicy, Policy: "h"}, KeysFromPassword, "pw-1", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassword(ctx, u, "pw-2", false, nil); err != nil { // creates kadmin/history
		t.Fatal(err)
	}
	hist := name(t, "kadmin/history")
	if _, err := s.RandomizeKeys(ctx, hist, true, nil); !errors.Is(err, ErrProtectPrinc) {
		t.Errorf("randkey -keepold history: %v", err)
	}
	keys, err := s.RandomizeKeys(ctx, hist, false, []krb5x.KeySalt{{Enctype: 18}, {Enctype: 17}})
	if err != nil || len(keys) != 1 {
		t.Errorf("history randomized to %d keys, %v", len(keys), err)
	}
}

func TestListPrincipalsAnyRealm(t *testing.T) {
	s := newRealm(t)
	ctx := context.Background()
	for _, n := range []string{"krbtgt/OTHER.TEST@" + testRealm, "krbtgt/" + testRealm + "@OTHER.TEST"} {
		if err := s.CreatePrincipal(ctx, PrincipalSpec{Name: name(t, n)}, KeysRandom, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListPrincipals(ctx, "krbtgt/*")
	want := []string{"krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "krbtgt/EXAMPLE.TEST@OTHER.TEST", "krbtgt/OTHER.TEST@EXAMPLE.TEST"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
}

func TestUnlockRecordsTime(t *testing.T) {
	s := newRealm(t)
	ctx := context.Background()
	n := name(t, "x")
	if err := s.CreatePrincipal(ctx, PrincipalSpec{Name: n}, KeysRandom, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ModifyPrincipal(ctx, PrincipalSpec{Name: n, Mask: MaskFailAuthCount}); err != nil {
		t.Fatal(err)
	}
	p, err := s.GetPrincipal(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := p.TL(kdb.TLLastAdminUnlock)
	if !ok || len(b) != 4 || binary.LittleEndian.Uint32(b) != kdb.Unix(fixedNow) {
		t.Errorf("last admin unlock %x, %v", b, ok)
	}
}
