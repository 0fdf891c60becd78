package main

import (
	"io"
	"strings"

	"github.com/krb5prop/krb5prop/kdb"
)

// This file holds the principal queries: get_principal and
// list_principals.

// getprinc is kadmin_getprinc.
func (s *session) getprinc(argv []string) {
	if !(len(argv) == 2 || (len(argv) == 3 && argv[1] == "-terse")) {
		s.errorf("usage: get_principal [-terse] principal\n")
		return
	}
	name, err := s.parseName(argv[len(argv)-1])
	if err != nil {
		s.comErr("get_principal", err, "while parsing principal")
		return
	}
	canon := name.String()
	p, err := s.srv.GetPrincipal(s.ctx, name)
	if err != nil {
		s.comErr("get_principal", err, "while retrieving \"%s\".", canon)
		return
	}
	v, err := s.viewPrincipal(p)
	if err != nil {
		s.comErr("get_principal", err, "while retrieving \"%s\".", canon)
		return
	}
	if v.modName == "" {
		// An entry without KRB5_TL_MOD_PRINC has no modifier, which MIT
		// fails to unparse.
		s.comErr("get_principal", errInvalidArgument, "while unparsing principal")
		return
	}
	if len(argv) == 3 {
		writeGetprincTerse(s.stdout, v)
		return
	}
	writeGetprinc(s.stdout, v, v.policy == "" || s.policyExists(v.policy), s.loc)
}

// viewPrincipal is what kadm5_get_principal returns for p.
func (s *session) viewPrincipal(p *kdb.Principal) (principalView, error) {
	v := principalView{
		name: p.Name.String(), expire: p.Expiration, lastPwdChange: p.LastPwdChange(),
		pwExpire: p.PwExpiration, maxLife: p.MaxLife, maxRenew: p.MaxRenewableLife,
		attributes: p.Attributes, kvno: p.MaxKVNO(), mkvno: p.MKVNO(),
		lastSuccess: p.LastSuccess, lastFailed: p.LastFailed, failCount: p.FailAuthCount,
		keys: p.KeyData,
	}
	if v.mkvno == 0 && s.srv.MKeys != nil && len(s.srv.MKeys.Keys) > 0 {
		// No KRB5_TL_MKVNO: the keys are in the oldest master key.
		v.mkvno = s.srv.MKeys.Lowest().KVNO
	}
	if t, who, ok := p.ModPrinc(); ok {
		v.modDate, v.modName = t, who
	}
	ad, ok, err := p.KadmData()
	if err != nil {
		return v, err
	}
	if ok && ad.AuxAttributes&kdb.AuxPolicy != 0 {
		v.policy = ad.Policy
	}
	return v, nil
}

// listprincs is kadmin_getprincs.
func (s *session) listprincs(argv []string) {
	if len(argv) > 2 {
		s.errorf("usage: get_principals [expression]\n")
		return
	}
	glob := ""
	if len(argv) == 2 {
		glob = argv[1]
	}
	names, err := s.srv.ListPrincipals(s.ctx, glob)
	if err != nil {
		s.comErr("get_principals", err, "while retrieving list.")
		return
	}
	writeLines(s.stdout, names)
}

func writeLines(w io.Writer, lines []string) {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	io.WriteString(w, b.String())
}
