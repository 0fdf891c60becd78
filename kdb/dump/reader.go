package dump

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/krb5prop/krb5prop/internal/princname"
	"github.com/krb5prop/krb5prop/kdb"
)

// Record is one record of a dump: a principal or a policy.
type Record struct {
	Principal *kdb.Principal
	Policy    *kdb.Policy
	// Line is the line number MIT's loader gives the record in its
	// messages (see ParseError).
	Line int
}

// Reader reads a dump record by record, as MIT's kdb5_util load does.
type Reader struct {
	// DefaultRealm completes principal names in the dump that have no
	// realm, as krb5_parse_name does with the context's realm. When it is
	// empty such a name is an error.
	DefaultRealm string
	// Warn, when set, receives what MIT's loader reports on stderr without
	// failing: trash after a principal record's ";".
	Warn func(Warning)

	in    *input
	file  string
	f     Format
	iprop *IpropHeader
	line  int   // MIT's lineno
	err   error // sticky: the error or io.EOF that ended the stream

	// Reused between records so that reading allocates only what the
	// returned record keeps.
	tok  []byte
	data []byte
	tls  []span
	keys []keySpan
}

// span is a decoded field inside Reader.data.
type span struct {
	typ      int16
	off, len int
}

type keySpan struct {
	ver   int16
	kvno  uint16
	elems [2]span
}

// maxHeader is the most of the first line MIT compares: it reads it with
// fgets into a BUFSIZ (8192) buffer, and a longer line leaves its rest to
// be read as records.
const maxHeader = 8191

// maxRawName bounds the name field (name_len) before anything is read
// into memory. MIT only refuses more than UINT_MAX/2, but no longer field
// can hold a name DB2 stores (at most 32766 bytes unparsed, each from at
// most two bytes of the field).
const maxRawName = 65535

// maxTrash bounds how much of a trailing-trash run a Warning keeps.
const maxTrash = 4096

// NewReader reads the header line of the dump in r and returns a Reader
// positioned at the first record. file names the dump in messages.
//
// With forced nil the format is detected as MIT does (spec §1.1): the
// first line must be exactly one of the four "kdb5_util load_dump version
// N" lines. With a forced format the line must begin with that format's
// header, which for the load_dump versions (whose header includes the
// newline) also means the whole line; forcing Iprop or IpropX accepts
// either iprop header, as MIT's "load -i" does, and the header decides.
// A first line MIT's loader would refuse gives a *HeaderError with MIT's
// message.
func NewReader(r io.Reader, file string, forced *Format) (*Reader, error) {
	rd := &Reader{in: newInput(r), file: file, line: 1}
	line, err := rd.headerLine()
	if err != nil {
		return nil, err
	}
	bad := &HeaderError{File: file, Msg: "dump header bad in " + file}
	if forced == nil {
		for f := Version4; f <= Version7; f++ {
			if string(line) == f.Header(nil) {
				rd.f = f
				return rd, nil
			}
		}
		return nil, bad
	}
	if !forced.Valid() {
		return nil, fmt.Errorf("dump: unknown format %d", int(*forced))
	}
	if !bytes.HasPrefix(line, []byte(forced.headerPrefix())) {
		return nil, bad
	}
	rd.f = *forced
	if rd.f == Iprop || rd.f == IpropX {
		if err := rd.parseIpropHeader(line); err != nil {
			return nil, err
		}
	}
	return rd, nil
}

// headerLine is fgets(buf, BUFSIZ): bytes up to and including the first
// newline, at most maxHeader of them.
func (r *Reader) headerLine() ([]byte, error) {
	var line []byte
	for len(line) < maxHeader {
		c, ok := r.in.next()
		if !ok {
			break
		}
		line = append(line, c)
		if c == '\n' {
			break
		}
	}
	if err := r.in.ioErr(); err != nil {
		return nil, fmt.Errorf("dump: reading %s: %w", r.file, err)
	}
	if len(line) == 0 {
		return nil, &HeaderError{File: r.file, Msg: "can't read dump header in " + r.file}
	}
	if line[len(line)-1] != '\n' && !r.in.fill() {
		// MIT would take "iprop 1 2 3" cut anywhere for a header; a
		// dump that ends inside its first line is truncated.
		return nil, &HeaderError{File: r.file, Msg: "dump header bad in " + r.file}
	}
	return line, nil
}

// parseIpropHeader is MIT's parse_iprop_header: sscanf(line, "%127s %u %u
// %u %u") on the line as a C string, "ipropx" with 5 conversions (its
// version 0 meaning the iprop layout) or "iprop" with exactly 4.
func (r *Reader) parseIpropHeader(line []byte) error {
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	in := newInputBytes(line)
	head, c := in.scanString(nil, 127)
	if c != convOK {
		return &HeaderError{File: r.file, Msg: "dump header bad in " + r.file}
	}
	var u [4]uint32
	n := 1
	for i := range u {
		v, c := in.scanU()
		if c != convOK {
			break
		}
		u[i] = v
		n++
	}
	bad := &HeaderError{File: r.file, Msg: "dump header bad in " + r.file}
	nums := u[:]
	switch string(head) {
	case "ipropx":
		if n != 5 {
			return bad
		}
		switch u[0] {
		case 0:
			r.f = Iprop
		case ipropxVersion:
			r.f = IpropX
		default:
			return &HeaderError{File: r.file, Msg: "Unknown iprop dump version " + strconv.Itoa(int(int32(u[0])))}
		}
		nums = u[1:]
	case "iprop":
		if n != 4 {
			return bad
		}
		r.f = Iprop
	default:
		return &HeaderError{File: r.file, Msg: "Invalid iprop header"}
	}
	r.iprop = &IpropHeader{SerialNumber: nums[0], Sec: nums[1], Usec: nums[2]}
	return nil
}

func newInputBytes(b []byte) *input {
	return &input{r: bytes.NewReader(nil), buf: b, end: len(b), err: io.EOF}
}

// Format is the format of the dump.
func (r *Reader) Format() Format { return r.f }

// Iprop is the update-log position from an iprop header, nil for the other
// formats.
func (r *Reader) Iprop() *IpropHeader { return r.iprop }

// Next returns the next record, or io.EOF after the last one. An "End"
// record (the trailer of the old OpenV*Secure format, which MIT still
// honours) ends the dump too, and whatever follows it is not read. Parse
// errors are *ParseError; once Next has returned an error it returns it
// again.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	rec, err := r.next()
	if err != nil {
		if ioErr := r.in.ioErr(); ioErr != nil {
			// A failed read looks like the end of the input to the
			// scanner; report the read failure, not a truncated record.
			err = fmt.Errorf("dump: reading %s: %w", r.file, ioErr)
		}
		r.err = err
		return Record{}, err
	}
	return rec, nil
}

func (r *Reader) next() (Record, error) {
	// process_tagged: fscanf(f, "%99s\t", rectype)
	tok, c := r.in.scanString(r.tok[:0], 99)
	r.tok = tok
	if c == convEOF {
		return Record{}, io.EOF
	}
	r.in.skipSpace()
	// strcmp sees the token only up to a NUL.
	if i := bytes.IndexByte(tok, 0); i >= 0 {
		tok = tok[:i]
	}
	switch string(tok) {
	case "princ":
		p, err := r.readPrincipal()
		if err != nil {
			return Record{}, err
		}
		return Record{Principal: p, Line: r.line}, nil
	case "policy":
		p, err := r.readPolicy()
		if err != nil {
			return Record{}, err
		}
		return Record{Policy: p, Line: r.line}, nil
	case "End":
		return Record{}, io.EOF
	}
	return Record{}, r.fail(styleBare, `unknown record type "`+string(tok)+`"`)
}

func (r *Reader) fail(style msgStyle, msg string) *ParseError {
	return &ParseError{File: r.file, Line: r.line, Msg: msg, style: style}
}

// truncated reports an end of input where MIT's loader would stop quietly
// and drop the record (a dump ending after "princ" or inside a policy
// line), or loop forever (a principal record without its final newline).
// A dump cut short is far more likely a failed copy than a complete one,
// so it is an error here.
func (r *Reader) truncated() *ParseError {
	return r.fail(styleLoadErr, "unexpected end of file (truncated dump)")
}

// scanInts is an fscanf of integer conversions, kinds[i] being 'd' or
// 'u' for dst[i] (which holds the 32 bits the C variable would): the count
// read, or -1 (EOF) when the input ended before the first.
func (r *Reader) scanInts(dst []uint32, kinds string) int {
	for i := range dst {
		var v uint32
		var c conv
		if kinds[i] == 'd' {
			var d int32
			d, c = r.in.scanD()
			v = uint32(d)
		} else {
			v, c = r.in.scanU()
		}
		switch c {
		case convEOF:
			if i == 0 {
				return -1
			}
			return i
		case convFail:
			return i
		}
		dst[i] = v
	}
	return len(dst)
}

const (
	allU = "uuuuuuuuu"
	allD = "dd"
)

// readOctets is MIT's read_octets_or_minus1: n bytes of hex, or for n = 0
// an integer that must be -1.
func (r *Reader) readOctets(n int) (span, bool) {
	if n == 0 {
		v, c := r.in.scanD()
		return span{}, c == convOK && v == -1
	}
	off := len(r.data)
	var ok bool
	r.data, ok = r.in.readHex(r.data, n)
	return span{off: off, len: n}, ok
}

// readTL is MIT's process_tl_data for n triples.
func (r *Reader) readTL(n int) error {
	r.tls = r.tls[:0]
	for range n {
		typ, c1 := r.in.scanD()
		length, c2 := uint32(0), c1
		if c1 == convOK {
			length, c2 = r.in.scanU()
		}
		if c1 != convOK || c2 != convOK {
			return r.fail(styleLoadErr, "cannot read tagged data type and length")
		}
		r.in.skipSpace()
		if typ < math.MinInt16 || typ > math.MaxInt16 || length > maxField {
			return r.fail(styleLoadErr, "data type or length overflowed")
		}
		s, ok := r.readOctets(int(length))
		if !ok {
			return r.fail(styleLoadErr, "cannot read tagged data contents")
		}
		s.typ = int16(typ)
		r.tls = append(r.tls, s)
	}
	return nil
}

// bytesOf is a field's bytes inside the record's arena; the full slice
// expression keeps an append to one field from overwriting the next.
func (r *Reader) bytesOf(s span, arena []byte) []byte {
	if s.len == 0 {
		return nil
	}
	return arena[s.off : s.off+s.len : s.off+s.len]
}

// tlData is the tl-data just read, its contents in arena.
func (r *Reader) tlData(arena []byte) []kdb.TLData {
	if len(r.tls) == 0 {
		return nil
	}
	out := make([]kdb.TLData, len(r.tls))
	for i, s := range r.tls {
		out[i] = kdb.TLData{Type: s.typ, Contents: r.bytesOf(s, arena)}
	}
	return out
}

// arena copies the record's decoded bytes into one allocation, so that a
// record costs a handful of allocations however many fields it has.
func (r *Reader) arena() []byte {
	if len(r.data) == 0 {
		return nil
	}
	return append([]byte(nil), r.data...)
}

// readPrincipal is MIT's process_k5beta7_princ, plus the checks for what
// the DB2 module would refuse or store wrongly.
func (r *Reader) readPrincipal() (*kdb.Principal, error) {
	r.line++
	r.data = r.data[:0]

	// len, name_len, n_tl_data, n_key_data, e_length
	var size [5]uint32
	switch n := r.scanInts(size[:], allU); n {
	case 5:
	case -1:
		return nil, r.truncated()
	default:
		return nil, r.fail(styleLoadErr, "cannot match size tokens")
	}
	r.in.skipSpace()
	baseLen, nameLen, nTL, nKey, eLen := size[0], size[1], size[2], size[3], size[4]
	switch {
	case nameLen > math.MaxUint32/2:
		return nil, r.fail(styleLoadErr, "cannot allocate principal (too large)")
	case nameLen > maxRawName:
		return nil, r.fail(styleLoadErr, fmt.Sprintf("principal name field of %d bytes too long (at most %d)", nameLen, maxRawName))
	case nTL > math.MaxUint16:
		return nil, r.fail(styleLoadErr, "cannot allocate tl_data (too large)")
	case nKey > math.MaxInt16:
		return nil, r.fail(styleLoadErr, "invalid key_data size")
	case eLen > math.MaxUint16:
		// Checked by MIT after 1.20.
		return nil, r.fail(styleLoadErr, "invalid principal extra data size")
	case int16(baseLen) != baseLength:
		// MIT stores the value in 16 bits, and DB2's encoder aborts the
		// process for anything but 38.
		return nil, r.fail(styleLoadErr, fmt.Sprintf("unsupported principal base length %d (must be %d)", baseLen, baseLength))
	case eLen != 0:
		// DB2 derives the extra-data length from the base length, so a
		// record with extra data would be read back garbled.
		return nil, r.fail(styleLoadErr, "invalid principal extra data size")
	case nTL > maxTLCount:
		// DB2 keeps the count in a signed 16-bit field and refuses the
		// entry when storing it.
		return nil, r.fail(styleLoadErr, "cannot allocate tl_data (too large)")
	}

	// read_string: exactly name_len bytes, counting the newlines.
	raw := r.tok[:0]
	for range nameLen {
		c, ok := r.in.next()
		if !ok {
			return nil, r.fail(styleLoadErr, "cannot read name string")
		}
		if c == '\n' {
			r.line++
		}
		raw = append(raw, c)
	}
	r.tok = raw
	name, err := r.parseName(raw)
	if err != nil {
		return nil, err
	}
	p := &kdb.Principal{Name: name}

	// "%d\t%d\t%d\t%u\t%u\t%d\t%d\t%d\t"
	var fixed [8]uint32
	if r.scanInts(fixed[:], "ddduuddd") != 8 {
		return nil, r.fail(styleLoadErr, "cannot read principal attributes")
	}
	r.in.skipSpace()
	p.Attributes = fixed[0]
	p.MaxLife = int32(fixed[1])
	p.MaxRenewableLife = int32(fixed[2])
	p.Expiration = fixed[3]
	p.PwExpiration = fixed[4]
	p.LastSuccess = fixed[5]
	p.LastFailed = fixed[6]
	p.FailAuthCount = fixed[7]

	if err := r.readTL(int(nTL)); err != nil {
		return nil, err
	}

	r.keys = r.keys[:0]
	for range nKey {
		var vk [2]uint32
		if r.scanInts(vk[:], allD) != 2 {
			return nil, r.fail(styleLoadErr, "cannot read key size and version")
		}
		r.in.skipSpace()
		ver, kvno := int32(vk[0]), int32(vk[1])
		// MIT's loader lets a negative version through, but DB2 refuses
		// to read such an entry back (KRB5_KDB_BAD_VERSION).
		if ver > 2 || ver < 0 {
			return nil, r.fail(styleLoadErr, "unsupported key_data_ver version")
		}
		if kvno < 0 || kvno > math.MaxUint16 {
			return nil, r.fail(styleLoadErr, "invalid kvno")
		}
		k := keySpan{ver: int16(ver), kvno: uint16(kvno)}
		for j := range int(ver) {
			var tl [2]uint32
			if r.scanInts(tl[:], allD) != 2 || int32(tl[1]) < 0 || int32(tl[1]) > maxField {
				return nil, r.fail(styleLoadErr, "cannot read key type and length")
			}
			r.in.skipSpace()
			s, ok := r.readOctets(int(int32(tl[1])))
			if !ok {
				return nil, r.fail(styleLoadErr, "cannot read key data")
			}
			s.typ = int16(int32(tl[0]))
			k.elems[j] = s
		}
		r.keys = append(r.keys, k)
	}

	if _, ok := r.readOctets(0); !ok {
		return nil, r.fail(styleLoadErr, "cannot read extra data")
	}
	if err := r.recordEnd(); err != nil {
		return nil, err
	}
	if err := r.checkDBArgs(raw); err != nil {
		return nil, err
	}

	arena := r.arena()
	p.TLData = r.tlData(arena)
	if len(r.keys) > 0 {
		p.KeyData = make([]kdb.KeyData, len(r.keys))
		for i, k := range r.keys {
			kd := kdb.KeyData{Version: k.ver, KVNO: k.kvno}
			if k.ver >= 1 {
				kd.Enctype, kd.Contents = k.elems[0].typ, r.bytesOf(k.elems[0], arena)
			}
			if k.ver >= 2 {
				kd.SaltType, kd.Salt = k.elems[1].typ, r.bytesOf(k.elems[1], arena)
			}
			p.KeyData[i] = kd
		}
	}
	return p, nil
}

// checkDBArgs refuses what MIT's krb5_db_put_principal does with tl-data of
// type KRB5_TL_DB_ARGS: it takes them out of the entry as arguments for the
// database module, which DB2 refuses; one that is not a NUL-terminated
// string is refused outright (and an empty one crashes MIT's loader)
// [verified]. rawName is the name field, which MIT's message quotes.
func (r *Reader) checkDBArgs(rawName []byte) error {
	if i := bytes.IndexByte(rawName, 0); i >= 0 {
		rawName = rawName[:i]
	}
	var first []byte
	for _, s := range r.tls {
		if s.typ != tlDBArgs {
			continue
		}
		v := r.data[s.off : s.off+s.len]
		if len(v) == 0 || v[len(v)-1] != 0 {
			return r.fail(styleComErr, "Invalid argument while storing "+string(rawName))
		}
		if first == nil {
			first = v[:bytes.IndexByte(v, 0)]
		}
	}
	if first != nil {
		return r.fail(styleComErr, `Unsupported argument "`+string(first)+`" for db2 while storing `+string(rawName))
	}
	return nil
}

// parseName turns the name field into a principal name as MIT does:
// krb5_parse_name on it as a C string (so up to a NUL), with the default
// realm for a name without one.
func (r *Reader) parseName(raw []byte) (kdb.Name, error) {
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		raw = raw[:i]
	}
	n, err := kdb.ParseName(string(raw), r.DefaultRealm)
	if err != nil {
		return kdb.Name{}, &ParseError{File: r.file, Line: r.line, style: styleComErr, Err: err,
			Msg: kdb.ErrMalformedName.Error() + " while parsing name " + string(raw)}
	}
	if r.DefaultRealm == "" && !hasRealm(raw) {
		return kdb.Name{}, &ParseError{File: r.file, Line: r.line, style: styleComErr,
			Msg: "Configuration file does not specify default realm while parsing name " + string(raw)}
	}
	if l := princname.Len(n.Components, n.Realm); l > maxNameBytes {
		return kdb.Name{}, r.fail(styleLoadErr, fmt.Sprintf("principal name of %d bytes too long (at most %d)", l, maxNameBytes))
	}
	return n, nil
}

// hasRealm reports whether an unparsed name has an unquoted "@".
func hasRealm(s []byte) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '@':
			return true
		}
	}
	return false
}

// recordEnd is MIT's read_record_end: ";" and a newline end a principal
// record; anything else is skipped to the end of the line with a warning.
func (r *Reader) recordEnd() error {
	c, ok := r.in.next()
	if ok && c == ';' {
		c, ok = r.in.next()
		if ok && c == '\n' {
			return nil
		}
	}
	w := Warning{File: r.file, Line: r.line}
	for ok && c != '\n' {
		if len(w.Trash) < maxTrash {
			w.Trash = append(w.Trash, c)
		} else {
			w.Truncated = true
		}
		c, ok = r.in.next()
	}
	if !ok {
		return r.truncated()
	}
	if r.Warn != nil {
		r.Warn(w)
	}
	return nil
}

// readPolicy reads a policy line in the layout of the dump's format:
// MIT's process_k5beta7_policy, process_r1_8_policy or
// process_r1_11_policy.
func (r *Reader) readPolicy() (*kdb.Policy, error) {
	r.line++
	r.data = r.data[:0]
	name, c := r.in.scanString(r.tok[:0], maxPolicyLen)
	r.tok = name
	if c == convEOF {
		return nil, r.truncated()
	}
	want := 7
	if r.f.policyFields() > 7 {
		want = 10
	}
	var u [9]uint32
	n := 1 + r.scanInts(u[:want-1], allU)
	if n == 0 { // the first %u hit the end of the input
		n = 1
	}
	if n != want {
		return nil, r.fail(styleBare, fmt.Sprintf("cannot parse policy (%d read)", n))
	}
	// rec.name is a C string.
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	if len(name) == 0 {
		return nil, r.fail(styleLoadErr, "empty policy name")
	}
	p := &kdb.Policy{
		Name:         string(name),
		PwMinLife:    u[0],
		PwMaxLife:    u[1],
		PwMinLength:  u[2],
		PwMinClasses: u[3],
		PwHistoryNum: u[4],
		// u[5] is policy_refcnt, ignored on load.
		PwMaxFail:         u[6],
		PwFailcntInterval: u[7],
		PwLockoutDuration: u[8],
	}
	if r.f.policyFields() == 15 {
		// A 1.8-style line (newline right after the 10th field) is
		// accepted too: iprop dumps once used one header for both.
		c, ok := r.in.next()
		if !ok {
			return nil, r.truncated()
		}
		if c == '\n' {
			return p, nil
		}
		var x [3]uint32
		n := r.scanInts(x[:], allU)
		var ks []byte
		var ntl int16
		if n == 3 {
			var c conv
			ks, c = r.in.scanString(r.tok[:0], maxKeysalts)
			r.tok = ks
			if c == convOK {
				n++
				ntl, c = r.in.scanHD()
				if c == convOK {
					n++
				}
			}
		}
		switch n {
		case 5:
		case -1:
			return nil, r.truncated()
		default:
			return nil, r.fail(styleBare, fmt.Sprintf("cannot parse policy (%d read)", n))
		}
		p.Attributes, p.MaxLife, p.MaxRenewableLife = x[0], x[1], x[2]
		if i := bytes.IndexByte(ks, 0); i >= 0 {
			ks = ks[:i]
		}
		if string(ks) != "-" {
			p.AllowedKeysalts = string(ks)
		}
		if ntl < 0 {
			// MIT stores the negative count with no tl-data and dumps
			// it again as is; a Policy has no count of its own.
			return nil, r.fail(styleLoadErr, fmt.Sprintf("invalid policy tl-data count %d", ntl))
		}
		if err := r.readTL(int(ntl)); err != nil {
			return nil, err
		}
		p.TLData = r.tlData(r.arena())
	}
	// MIT stops at the last field and leaves the newline to the next
	// record; only a dump that ends right there is cut short.
	if _, ok := r.in.peek(); !ok {
		return nil, r.truncated()
	}
	return p, nil
}
