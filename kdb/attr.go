package kdb

import (
	"fmt"
	"strconv"
	"strings"
)

// Principal attribute bits (MIT kdb.h KRB5_KDB_*), stored in
// Principal.Attributes and printed by getprinc and tabdump.
const (
	AttrDisallowPostdated   uint32 = 0x00000001
	AttrDisallowForwardable uint32 = 0x00000002
	AttrDisallowTGTBased    uint32 = 0x00000004
	AttrDisallowRenewable   uint32 = 0x00000008
	AttrDisallowProxiable   uint32 = 0x00000010
	AttrDisallowDupSkey     uint32 = 0x00000020
	AttrDisallowAllTix      uint32 = 0x00000040
	AttrRequiresPreAuth     uint32 = 0x00000080
	AttrRequiresHWAuth      uint32 = 0x00000100
	AttrRequiresPwChange    uint32 = 0x00000200
	AttrDisallowSvr         uint32 = 0x00001000
	AttrPwChangeService     uint32 = 0x00002000
	AttrSupportDESMD5       uint32 = 0x00004000
	AttrNewPrinc            uint32 = 0x00008000
	AttrOKAsDelegate        uint32 = 0x00100000
	AttrOKToAuthAsDelegate  uint32 = 0x00200000
	AttrNoAuthDataRequired  uint32 = 0x00400000
	AttrLockdownKeys        uint32 = 0x00800000
)

// attrNames are the names getprinc prints for bits 0..23, in bit order
// (MIT str_conv.c outflags); an empty entry has no name.
var attrNames = [...]string{
	"DISALLOW_POSTDATED", "DISALLOW_FORWARDABLE", "DISALLOW_TGT_BASED", "DISALLOW_RENEWABLE",
	"DISALLOW_PROXIABLE", "DISALLOW_DUP_SKEY", "DISALLOW_ALL_TIX", "REQUIRES_PRE_AUTH",
	"REQUIRES_HW_AUTH", "REQUIRES_PWCHANGE", "", "",
	"DISALLOW_SVR", "PWCHANGE_SERVICE", "SUPPORT_DESMD5", "NEW_PRINC",
	"", "", "", "",
	"OK_AS_DELEGATE", "OK_TO_AUTH_AS_DELEGATE", "NO_AUTH_DATA_REQUIRED", "LOCKDOWN_KEYS",
}

// AttrName returns MIT's name for attribute bit n (0..31), or the bit as
// 0x%08x when MIT has no name for it, as krb5_flagnum_to_string does.
func AttrName(bit int) string {
	if bit >= 0 && bit < len(attrNames) && attrNames[bit] != "" {
		return attrNames[bit]
	}
	return fmt.Sprintf("0x%08x", uint32(1)<<uint(bit))
}

// AttrStrings lists the names of the bits set in attrs, lowest bit first.
func AttrStrings(attrs uint32) []string {
	var out []string
	for bit := 0; bit < 32; bit++ {
		if attrs&(1<<uint(bit)) != 0 {
			out = append(out, AttrName(bit))
		}
	}
	return out
}

// flagSpecs is MIT's flag specifier table (str_conv.c ftbl): the names
// accepted by kadmin's +/-flag options and kdc.conf default_principal_flags.
// invert means the name describes the permission, so "+name" clears the
// DISALLOW bit.
var flagSpecs = []struct {
	spec   string
	flag   uint32
	invert bool
}{
	{"allow_postdated", AttrDisallowPostdated, true},
	{"postdateable", AttrDisallowPostdated, true},
	{"disallow_postdated", AttrDisallowPostdated, false},
	{"allow_forwardable", AttrDisallowForwardable, true},
	{"forwardable", AttrDisallowForwardable, true},
	{"disallow_forwardable", AttrDisallowForwardable, false},
	{"allow_tgs_req", AttrDisallowTGTBased, true},
	{"tgt_based", AttrDisallowTGTBased, true},
	{"disallow_tgt_based", AttrDisallowTGTBased, false},
	{"allow_renewable", AttrDisallowRenewable, true},
	{"renewable", AttrDisallowRenewable, true},
	{"disallow_renewable", AttrDisallowRenewable, false},
	{"allow_proxiable", AttrDisallowProxiable, true},
	{"proxiable", AttrDisallowProxiable, true},
	{"disallow_proxiable", AttrDisallowProxiable, false},
	{"allow_dup_skey", AttrDisallowDupSkey, true},
	{"dup_skey", AttrDisallowDupSkey, true},
	{"disallow_dup_skey", AttrDisallowDupSkey, false},
	{"allow_tickets", AttrDisallowAllTix, true},
	{"allow_tix", AttrDisallowAllTix, true},
	{"disallow_all_tix", AttrDisallowAllTix, false},
	{"preauth", AttrRequiresPreAuth, false},
	{"requires_pre_auth", AttrRequiresPreAuth, false},
	{"requires_preauth", AttrRequiresPreAuth, false},
	{"hwauth", AttrRequiresHWAuth, false},
	{"requires_hw_auth", AttrRequiresHWAuth, false},
	{"requires_hwauth", AttrRequiresHWAuth, false},
	{"needchange", AttrRequiresPwChange, false},
	{"pwchange", AttrRequiresPwChange, false},
	{"requires_pwchange", AttrRequiresPwChange, false},
	{"allow_svr", AttrDisallowSvr, true},
	{"service", AttrDisallowSvr, true},
	{"disallow_svr", AttrDisallowSvr, false},
	{"password_changing_service", AttrPwChangeService, false},
	{"pwchange_service", AttrPwChangeService, false},
	{"pwservice", AttrPwChangeService, false},
	{"md5", AttrSupportDESMD5, false},
	{"support_desmd5", AttrSupportDESMD5, false},
	{"new_princ", AttrNewPrinc, false},
	{"ok_as_delegate", AttrOKAsDelegate, false},
	{"ok_to_auth_as_delegate", AttrOKToAuthAsDelegate, false},
	{"no_auth_data_required", AttrNoAuthDataRequired, false},
	{"lockdown_keys", AttrLockdownKeys, false},
}

// ApplyFlagSpec applies one flag specifier ("+preauth", "-allow_tix",
// "allow-forwardable", "0x40") to attrs, as krb5_flagspec_to_mask does:
// a leading "-" negates, "+" or nothing asserts, hyphens count as
// underscores and case does not matter.
func ApplyFlagSpec(attrs uint32, spec string) (uint32, error) {
	s := spec
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else {
		s = strings.TrimPrefix(s, "+")
	}
	s = strings.ToLower(strings.ReplaceAll(s, "-", "_"))
	var flag uint32
	invert, found := false, false
	for _, f := range flagSpecs {
		if f.spec == s {
			flag, invert, found = f.flag, f.invert, true
			break
		}
	}
	if !found && strings.HasPrefix(s, "0x") {
		// MIT reads "0x12zz" as 0x12 and truncates longer numbers to 32
		// bits; both are errors here.
		v, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return attrs, fmt.Errorf("invalid flag %q", spec)
		}
		flag, found = uint32(v), true
	}
	if !found {
		return attrs, fmt.Errorf("invalid flag %q", spec)
	}
	if neg != invert {
		return attrs &^ flag, nil
	}
	return attrs | flag, nil
}

// IsFlagSpec reports whether spec names a known flag (with its +/- prefix
// stripped), so command-line parsers can tell flags from other options.
func IsFlagSpec(spec string) bool {
	_, err := ApplyFlagSpec(0, spec)
	return err == nil
}
