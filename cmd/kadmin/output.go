package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// strdate formats a timestamp as kadmin's strdate: strftime
// "%a %b %d %H:%M:%S %Z %Y" in local time. MIT timestamps are unsigned
// 32-bit seconds (ts2tt), so dates past 2038 print correctly.
func strdate(ts uint32, loc *time.Location) string {
	return time.Unix(int64(ts), 0).In(loc).Format("Mon Jan 02 15:04:05 MST 2006")
}

// strdur formats a duration as kadmin's strdur: "[-]D day(s) HH:MM:SS".
func strdur(d int64) string {
	neg := ""
	if d < 0 {
		d, neg = -d, "-"
	}
	days := d / (24 * 3600)
	d %= 24 * 3600
	unit := "days"
	if days == 1 {
		unit = "day"
	}
	return fmt.Sprintf("%s%d %s %02d:%02d:%02d", neg, days, unit, d/3600, d%3600/60, d%60)
}

// dateOrNever is the "[never]" convention of getprinc for unset times.
func dateOrNever(ts uint32, loc *time.Location) string {
	if ts == 0 {
		return "[never]"
	}
	return strdate(ts, loc)
}

// enctypeLabel is how getprinc names a key's enctype: MIT's name with
// "DEPRECATED:" for des3 and RC4, "UNSUPPORTED:" for enctypes 1.20 no
// longer has, and "<Encryption type 0xN>" when it has no name.
func enctypeLabel(etype int32) string {
	if !krb5x.EnctypeKnown(etype) {
		return fmt.Sprintf("UNSUPPORTED:<Encryption type 0x%x>", etype)
	}
	name := krb5x.EnctypeName(etype)
	switch etype {
	case krb5x.EnctypeDES3CBCRaw, krb5x.EnctypeDES3CBCSHA1, krb5x.EnctypeARCFOURHMAC, krb5x.EnctypeARCFOURHMACExp:
		return "DEPRECATED:" + name
	}
	return name
}

// saltLabel is krb5_salttype_to_string, which knows only the four salt
// types kadmin can create.
func saltLabel(st int16) string {
	switch st {
	case krb5x.SaltNormal, krb5x.SaltNoRealm, krb5x.SaltOnlyRealm, krb5x.SaltSpecial:
		return krb5x.SaltTypeName(st)
	}
	return fmt.Sprintf("<Salt type 0x%x>", st)
}

// principalView is what kadm5_get_principal reports for an entry.
type principalView struct {
	name          string
	expire        uint32
	lastPwdChange uint32
	pwExpire      uint32
	maxLife       int32
	maxRenew      int32
	modName       string
	modDate       uint32
	attributes    uint32
	kvno          uint16
	mkvno         uint16
	policy        string // empty: none
	lastSuccess   uint32
	lastFailed    uint32
	failCount     uint32
	keys          []kdb.KeyData
}

// writeGetprinc prints the long form of get_principal.
func writeGetprinc(w io.Writer, v principalView, policyExists bool, loc *time.Location) {
	var b strings.Builder
	fmt.Fprintf(&b, "Principal: %s\n", v.name)
	fmt.Fprintf(&b, "Expiration date: %s\n", dateOrNever(v.expire, loc))
	fmt.Fprintf(&b, "Last password change: %s\n", dateOrNever(v.lastPwdChange, loc))
	fmt.Fprintf(&b, "Password expiration date: %s\n", dateOrNever(v.pwExpire, loc))
	fmt.Fprintf(&b, "Maximum ticket life: %s\n", strdur(int64(v.maxLife)))
	fmt.Fprintf(&b, "Maximum renewable life: %s\n", strdur(int64(v.maxRenew)))
	fmt.Fprintf(&b, "Last modified: %s (%s)\n", strdate(v.modDate, loc), v.modName)
	fmt.Fprintf(&b, "Last successful authentication: %s\n", dateOrNever(v.lastSuccess, loc))
	fmt.Fprintf(&b, "Last failed authentication: %s\n", dateOrNever(v.lastFailed, loc))
	fmt.Fprintf(&b, "Failed password attempts: %d\n", int32(v.failCount))
	fmt.Fprintf(&b, "Number of keys: %d\n", len(v.keys))
	for _, k := range v.keys {
		fmt.Fprintf(&b, "Key: vno %d, %s", k.KVNO, enctypeLabel(int32(k.Enctype)))
		if k.Version > 1 && k.SaltType != krb5x.SaltNormal {
			fmt.Fprintf(&b, ":%s", saltLabel(k.SaltType))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "MKey: vno %d\n", v.mkvno)
	b.WriteString("Attributes:")
	for _, a := range kdb.AttrStrings(v.attributes) {
		b.WriteString(" " + a)
	}
	b.WriteString("\n")
	switch {
	case v.policy == "":
		b.WriteString("Policy: [none]\n")
	case !policyExists:
		fmt.Fprintf(&b, "Policy: %s [does not exist]\n", v.policy)
	default:
		fmt.Fprintf(&b, "Policy: %s\n", v.policy)
	}
	io.WriteString(w, b.String())
}

// writeGetprincTerse prints get_principal -terse: one tab-separated line
// with MIT's C integer conversions (timestamps and attributes as signed
// 32-bit numbers).
func writeGetprincTerse(w io.Writer, v principalView) {
	var b strings.Builder
	pol := v.policy
	if pol == "" {
		pol = "[none]"
	}
	fmt.Fprintf(&b, "\"%s\"\t%d\t%d\t%d\t%d\t\"%s\"\t%d\t%d\t%d\t%d\t\"%s\"\t%d\t%d\t%d\t%d\t%d",
		v.name, int32(v.expire), int32(v.lastPwdChange), int32(v.pwExpire), v.maxLife, v.modName,
		int32(v.modDate), int32(v.attributes), v.kvno, v.mkvno, pol, v.maxRenew,
		int32(v.lastSuccess), int32(v.lastFailed), int32(v.failCount), len(v.keys))
	for _, k := range v.keys {
		st := int16(0)
		if k.Version > 1 {
			st = k.SaltType
		}
		fmt.Fprintf(&b, "\t%d\t%d\t%d\t%d", k.Version, k.KVNO, k.Enctype, st)
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// writeGetpol prints get_policy, long or terse.
func writeGetpol(w io.Writer, p *kdb.Policy, terse bool) {
	var b strings.Builder
	if terse {
		ks := p.AllowedKeysalts
		if ks == "" {
			ks = "-"
		}
		// The 0 stands where MIT used to print the policy's reference count.
		fmt.Fprintf(&b, "\"%s\"\t%d\t%d\t%d\t%d\t%d\t0\t%d\t%d\t%d\t%s\n",
			p.Name, p.PwMaxLife, p.PwMinLife, p.PwMinLength, p.PwMinClasses, p.PwHistoryNum,
			p.PwMaxFail, p.PwFailcntInterval, p.PwLockoutDuration, ks)
		io.WriteString(w, b.String())
		return
	}
	fmt.Fprintf(&b, "Policy: %s\n", p.Name)
	fmt.Fprintf(&b, "Maximum password life: %s\n", strdur(int64(p.PwMaxLife)))
	fmt.Fprintf(&b, "Minimum password life: %s\n", strdur(int64(p.PwMinLife)))
	fmt.Fprintf(&b, "Minimum password length: %d\n", p.PwMinLength)
	fmt.Fprintf(&b, "Minimum number of password character classes: %d\n", p.PwMinClasses)
	fmt.Fprintf(&b, "Number of old keys kept: %d\n", p.PwHistoryNum)
	fmt.Fprintf(&b, "Maximum password failures before lockout: %d\n", p.PwMaxFail)
	fmt.Fprintf(&b, "Password failure count reset interval: %s\n", strdur(int64(p.PwFailcntInterval)))
	fmt.Fprintf(&b, "Password lockout duration: %s\n", strdur(int64(p.PwLockoutDuration)))
	if p.AllowedKeysalts != "" {
		fmt.Fprintf(&b, "Allowed key/salt types: %s\n", p.AllowedKeysalts)
	}
	io.WriteString(w, b.String())
}
