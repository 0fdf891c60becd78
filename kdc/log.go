package kdc

import (
	"fmt"
	"strings"
)

// The KDC's log lines are MIT's (kdc_log.c), so that log watchers and
// fail2ban-style rules written for MIT keep working.

// nameLimit is MIT's NAME_LENGTH_LIMIT: longer names are cut to 124
// characters and "...".
const nameLimit = 128

// limitString is MIT's limit_string.
func limitString(s string) string {
	if len(s) < nameLimit {
		return s
	}
	return s[:nameLimit-4] + "..."
}

// ktypesString is MIT's ktypes2str: "3 etypes {aes256-cts-hmac-sha1-96(18),
// …}".
func ktypesString(etypes []int32) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d etypes {", len(etypes))
	for i, et := range etypes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s(%d)", enctypeLogName(et), et)
	}
	b.WriteString("}")
	return b.String()
}

// replyEtypes holds the enctypes of an issued reply; zero values mean
// absent (a failed request logs "etypes {rep=UNSUPPORTED:(0)}").
type replyEtypes struct {
	rep, tkt, ses int32
	haveTicket    bool
}

// String is MIT's rep_etypes2str.
func (r replyEtypes) String() string {
	s := fmt.Sprintf("etypes {rep=%s(%d)", enctypeLogName(r.rep), r.rep)
	if r.haveTicket {
		s += fmt.Sprintf(", tkt=%s(%d), ses=%s(%d)", enctypeLogName(r.tkt), r.tkt, enctypeLogName(r.ses), r.ses)
	}
	return s + "}"
}

// logAS writes MIT's log_as_req line: on success
//
//	AS_REQ (N etypes {…}) ADDR: ISSUE: authtime T, etypes {rep=… tkt=… ses=…}, CLIENT for SERVER
//
// and on failure
//
//	AS_REQ (N etypes {…}) ADDR: STATUS: CLIENT for SERVER, MESSAGE
func (h *Handler) logAS(rs *requestState, cname, sname string, authtime uint32, rep replyEtypes, e *Error) {
	if cname == "" {
		cname = "<unknown client>"
	}
	if sname == "" {
		sname = "<unknown server>"
	}
	kt := ktypesString(rs.req.Body.ETypes)
	from := addrString(rs.from)
	if e == nil {
		h.logInfo(fmt.Sprintf("AS_REQ (%s) %s: ISSUE: authtime %d, %s, %s for %s", kt, from, authtime, rep, cname, sname))
		return
	}
	h.logInfo(fmt.Sprintf("AS_REQ (%s) %s: %s: %s for %s, %s", kt, from, e.Status, cname, sname, e.Error()))
}

// logTGS writes MIT's log_tgs_req line:
//
//	TGS_REQ (N etypes {…}) ADDR: ISSUE: authtime T, etypes {…}, CLIENT for SERVER
//	TGS_REQ (N etypes {…}) ADDR: STATUS: authtime T, etypes {rep=UNSUPPORTED:(0)} CLIENT for SERVER, MESSAGE
//
// and for KDC_ERR_SERVER_NOMATCH MIT's shorter form naming the second
// ticket's client (always "<unknown>" here: no S4U).
func (h *Handler) logTGS(rs *requestState, cname, sname string, authtime uint32, rep replyEtypes, e *Error) {
	if cname == "" {
		cname = "<unknown client>"
	}
	if sname == "" {
		sname = "<unknown server>"
	}
	from := addrString(rs.from)
	if e != nil && e.Code == CodeServerNoMatch && e.Err == nil {
		h.logInfo(fmt.Sprintf("TGS_REQ %s: %s: authtime %d, %s for %s, 2nd tkt client <unknown>", from, e.Status, authtime, cname, sname))
		return
	}
	kt := ktypesString(rs.req.Body.ETypes)
	if e == nil {
		h.logInfo(fmt.Sprintf("TGS_REQ (%s) %s: ISSUE: authtime %d, %s, %s for %s", kt, from, authtime, rep, cname, sname))
		return
	}
	h.logInfo(fmt.Sprintf("TGS_REQ (%s) %s: %s: authtime %d, %s %s for %s, %s", kt, from, e.Status, authtime, rep, cname, sname, e.Error()))
}
