package krb5x

import (
	"bytes"
	"net"

	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// Address types (RFC 4120 §7.5.3) MIT puts in KRB-SAFE and KRB-PRIV.
const (
	AddrTypeIPv4        int32 = 2
	AddrTypeDirectional int32 = 3
	AddrTypeIPv6        int32 = 24
)

// Address is a HostAddress (RFC 4120 §5.2.5): an address type and its
// octets.
type Address struct {
	Type int32
	Addr []byte
}

// AddressOf converts a socket address as MIT's k5_sockaddr_to_address
// does for kprop and kpropd (spec §1.2): IPv4 becomes type 2 with 4
// octets, a v4-mapped IPv6 address also becomes type 2 with its IPv4
// octets, and any other IPv6 address type 24 with 16 octets. A nil or
// malformed ip gives the zero Address.
func AddressOf(ip net.IP) Address {
	if v4 := ip.To4(); v4 != nil {
		return Address{Type: AddrTypeIPv4, Addr: append([]byte(nil), v4...)}
	}
	if len(ip) == net.IPv6len {
		return Address{Type: AddrTypeIPv6, Addr: append([]byte(nil), ip...)}
	}
	return Address{}
}

// Equal reports whether two addresses have the same type and octets, as
// MIT's krb5_address_compare.
func (a Address) Equal(b Address) bool {
	return a.Type == b.Type && bytes.Equal(a.Addr, b.Addr)
}

// IP returns the address as a net.IP for types 2 and 24 of the right
// length, else nil.
func (a Address) IP() net.IP {
	switch {
	case a.Type == AddrTypeIPv4 && len(a.Addr) == net.IPv4len:
		return net.IP(append([]byte(nil), a.Addr...))
	case a.Type == AddrTypeIPv6 && len(a.Addr) == net.IPv6len:
		return net.IP(append([]byte(nil), a.Addr...))
	}
	return nil
}

// addressSize is the encoded size of a HostAddress.
func addressSize(a Address) int {
	var tmp [12]byte
	t := asn1der.AppendInt(tmp[:0], int64(a.Type))
	return asn1der.TLVSize(asn1der.TLVSize(len(t)) + asn1der.TLVSize(asn1der.TLVSize(len(a.Addr))))
}

// appendAddress appends HostAddress ::= SEQUENCE { addr-type [0] Int32,
// address [1] OCTET STRING }.
func appendAddress(b []byte, a Address) []byte {
	var tmp [12]byte
	t := asn1der.AppendInt(tmp[:0], int64(a.Type))
	b = asn1der.AppendHeader(b, asn1der.TagSequence, asn1der.TLVSize(len(t))+asn1der.TLVSize(asn1der.TLVSize(len(a.Addr))))
	b = asn1der.AppendCtx(b, 0, t)
	return asn1der.AppendCtxString(b, 1, asn1der.TagOctetString, a.Addr)
}

// parseAddress decodes a HostAddress TLV filling b; Addr aliases b.
func parseAddress(b []byte) (Address, error) {
	var a Address
	f, err := asn1der.Sequence(b, asn1der.Tags(0, 1), asn1der.Tags(0, 1))
	if err != nil {
		return a, err
	}
	if a.Type, err = asn1der.Int32(f[0]); err != nil {
		return a, err
	}
	a.Addr, err = asn1der.Octets(f[1])
	return a, err
}
