package main

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Object classes and naming attributes, from krb5prop.ldif.
const (
	principalClass = "krb5propPrincipal"
	principalRDN   = "krb5propPrincipalName"
	policyClass    = "krb5propPolicy"
	policyRDN      = "cn"
)

// principalDN and policyDN name an object's entry.
func (c config) principalDN(name string) string {
	return principalRDN + "=" + escapeRDNValue(name) + "," + c.principalsDN()
}

func (c config) policyDN(name string) string {
	return policyRDN + "=" + escapeRDNValue(name) + "," + c.policiesDN()
}

// principalAttributes is every attribute a principal entry may have apart
// from its name and object class, in schema order, each with the values it
// gets from p (none when the field is null or empty).
func principalAttributes(p *principal) ([]attribute, error) {
	var times [4][]string
	for i, t := range []*string{p.Expiration, p.PwExpiration, p.LastPwdChange, p.ModTime} {
		v, err := generalizedTime(t)
		if err != nil {
			return nil, fmt.Errorf("principal %q: %w", p.Name, err)
		}
		times[i] = v
	}
	return []attribute{
		{"krb5propFlags", p.Flags},
		{"krb5propMaxLife", integer(p.MaxLife)},
		{"krb5propMaxRenewableLife", integer(p.MaxRenewableLife)},
		{"krb5propPrincipalExpiration", times[0]},
		{"krb5propPasswordExpiration", times[1]},
		{"krb5propPrincipalPolicy", optional(p.Policy)},
		{"krb5propLastPasswordChange", times[2]},
		{"krb5propModificationTime", times[3]},
		{"krb5propModifiedBy", optional(p.ModPrinc)},
		{"krb5propKeyVersion", integer(p.Kvno)},
		{"krb5propEnctypes", currentEnctypes(p)},
	}, nil
}

// currentEnctypes lists, once each, the enctypes with a key at the highest
// kvno: what a client can get a ticket for now. Older versions kept for
// tickets still in flight are left out.
func currentEnctypes(p *principal) []string {
	var out []string
	for _, k := range p.Keys {
		if k.Kvno == p.Kvno && !slices.Contains(out, k.Enctype) {
			out = append(out, k.Enctype)
		}
	}
	return out
}

// policyAttributes is every attribute of a policy entry apart from cn and
// its object class.
func policyAttributes(p *policy) []attribute {
	return []attribute{
		{"krb5propPwMinLife", integer(p.PwMinLife)},
		{"krb5propPwMaxLife", integer(p.PwMaxLife)},
		{"krb5propPwMinLength", integer(p.PwMinLength)},
		{"krb5propPwMinClasses", integer(p.PwMinClasses)},
		{"krb5propPwHistoryNum", integer(p.PwHistoryNum)},
		{"krb5propPwMaxFailure", integer(p.PwMaxFail)},
		{"krb5propPwFailureCountInterval", integer(p.PwFailcntInterval)},
		{"krb5propPwLockoutDuration", integer(p.PwLockoutDuration)},
		{"krb5propPolicyAttributes", integer(p.Attributes)},
		{"krb5propMaxLife", integer(p.MaxLife)},
		{"krb5propMaxRenewableLife", integer(p.MaxRenewableLife)},
		{"krb5propAllowedKeysalts", optional(p.AllowedKeysalts)},
	}
}

// integer is an INTEGER value (RFC 4517 section 3.3.16).
func integer(n int64) []string { return []string{strconv.FormatInt(n, 10)} }

// optional is a string that null or empty leaves absent.
func optional(s *string) []string {
	if s == nil || *s == "" {
		return nil
	}
	return []string{*s}
}

// generalizedTime turns a delivery's RFC 3339 time into LDAP's
// GeneralizedTime (RFC 4517 section 3.3.13), in UTC; null stays absent.
func generalizedTime(s *string) ([]string, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return nil, err
	}
	return []string{t.UTC().Format("20060102150405Z")}, nil
}
