// Package dump reads and writes the text dump formats of MIT Kerberos 1.20's
// kdb5_util (spec mit-dump-kdb.md §1): the default "load_dump version 7",
// the older versions 4 (-b7), 5 (-r13) and 6 (-r18), and the iprop and
// ipropx variants kadmind uses for full resyncs. The Writer produces exactly
// the bytes MIT's dumper does; the Reader accepts what MIT's fscanf-based
// loader accepts, reads the same values from it, and rejects with MIT's
// messages what that loader or MIT's DB2 module would refuse or mangle.
//
// Both work one record at a time: memory does not grow with the size of the
// dump.
package dump

import (
	"strconv"
)

// Format is one of the dump formats MIT 1.20 can write and load.
type Format int

// The formats, with the kdb5_util dump/load flag that selects each.
const (
	Version4 Format = iota + 1 // -b7: "kdb5_util load_dump version 4"
	Version5                   // -r13: "kdb5_util load_dump version 5"
	Version6                   // -r18: "kdb5_util load_dump version 6"
	Version7                   // the default: "kdb5_util load_dump version 7"
	Iprop                      // -i0: "iprop SNO SEC USEC"
	IpropX                     // -i1: "ipropx 1 SNO SEC USEC"
)

// IpropHeader is the update-log position an iprop dump was taken at: the
// serial number and time of the last update it contains.
type IpropHeader struct {
	SerialNumber uint32
	Sec, Usec    uint32
}

// ipropxVersion is the number after "ipropx" in an ipropx header
// (IPROPX_VERSION_1); "ipropx 0" is read as the plain iprop layout.
const ipropxVersion = 1

// Name is MIT's internal name of the format, the one its messages use
// ("Kerberos version 5 release 1.11 restore failed").
func (f Format) Name() string {
	switch f {
	case Version4:
		return "Kerberos version 5"
	case Version5:
		return "Kerberos version 5 release 1.3"
	case Version6:
		return "Kerberos version 5 release 1.8"
	case Version7:
		return "Kerberos version 5 release 1.11"
	case Iprop:
		return "Kerberos iprop version"
	case IpropX:
		return "Kerberos iprop extensible version"
	}
	return "unknown dump format " + strconv.Itoa(int(f))
}

// String is the format's Name.
func (f Format) String() string { return f.Name() }

// Valid reports whether f is one of the defined formats.
func (f Format) Valid() bool { return f >= Version4 && f <= IpropX }

// Header is the format's first line, newline included. The iprop formats
// carry the update-log position ih (zero when nil); the others ignore it.
func (f Format) Header(ih *IpropHeader) string {
	var h IpropHeader
	if ih != nil {
		h = *ih
	}
	switch f {
	case Version4, Version5, Version6, Version7:
		return "kdb5_util load_dump version " + strconv.Itoa(int(f-Version4)+4) + "\n"
	case Iprop:
		return "iprop " + ipropNumbers(h)
	case IpropX:
		return "ipropx " + strconv.Itoa(ipropxVersion) + " " + ipropNumbers(h)
	}
	return ""
}

func ipropNumbers(h IpropHeader) string {
	b := strconv.AppendUint(nil, uint64(h.SerialNumber), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(h.Sec), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(h.Usec), 10)
	return string(append(b, '\n'))
}

// headerPrefix is what MIT compares the first line against when the format
// is forced (dump_version.header): the whole line for the load_dump
// versions, only "iprop" for the iprop family.
func (f Format) headerPrefix() string {
	switch f {
	case Iprop, IpropX:
		return "iprop"
	}
	return f.Header(nil)
}

// Layout questions the Writer and Reader ask of a format.

// dropsKadmData: version 4 predates policies and omits KRB5_TL_KADM_DATA
// (tl-data type 3, which carries the policy link) from its principals.
func (f Format) dropsKadmData() bool { return f == Version4 }

// omitsNonReplicated: iprop dumps zero last_success, last_failed and
// fail_auth_count, which each KDC keeps for itself.
func (f Format) omitsNonReplicated() bool { return f == Iprop || f == IpropX }

// policyFields is the number of fields of a policy line after "policy",
// the name included (spec §1.5): 7, 10, or the 15 of the 1.11 layout,
// which ends with a tl-data count and the tl-data.
func (f Format) policyFields() int {
	switch f {
	case Version6:
		return 10
	case Version7, IpropX:
		return 15
	}
	return 7
}
