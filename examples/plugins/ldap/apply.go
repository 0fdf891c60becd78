package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// apply applies the delivery on stdin. Nothing reaches the directory until
// the whole delivery has been read and its end line checked: the changes
// are written as LDIF to a temporary file first, then sent with one
// ldapmodify. The seq file moves only after ldapmodify succeeded.
func apply(ldap *directory, stdin io.Reader) error {
	delivery := newDeliveryReader(stdin)
	h, err := delivery.readHeader()
	if err != nil {
		return err
	}
	if err := checkSeq(h); err != nil {
		return err
	}

	inv, err := ldap.inventory()
	if err != nil {
		return err
	}
	p, err := newPlan()
	if err != nil {
		return err
	}
	defer p.discard()
	if err := inv.addContainers(p.w, ldap.cfg); err != nil {
		return err
	}
	for {
		c, ok, err := delivery.readChange()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := inv.write(p.w, c); err != nil {
			return err
		}
	}
	if h.Reinit {
		// init-reinit emptied our part of the directory, but if anything
		// came back since, a full delivery still leaves exactly its own
		// objects.
		inv.principals.prune(p.w)
		inv.policies.prune(p.w)
	}
	if err := p.apply(ldap); err != nil {
		return err
	}
	return writeSeq(seqFile, h.Seq)
}

// checkSeq is the sequence check of replica/PROTOCOL.md: a delivery must
// follow the last one applied here (prev_seq) or be that one again (seq,
// a redelivery), unless it is a full one.
func checkSeq(h header) error {
	if h.Reinit {
		return nil
	}
	stored, known, err := readSeq(seqFile)
	switch {
	case err != nil:
		return err
	case !known:
		return fmt.Errorf("%w: %s does not hold a sequence number", errRequestReinit, seqFile)
	case h.PrevSeq != stored && h.Seq != stored:
		return fmt.Errorf("%w: delivery %d follows %d, but %d is the last applied here",
			errRequestReinit, h.Seq, h.PrevSeq, stored)
	}
	return nil
}

// reinit empties ou=principals and ou=policies for a full delivery. The seq
// file goes first, so that if the deletions fail half-way only another
// full delivery is accepted.
func reinit(ldap *directory) error {
	if err := removeSeq(seqFile); err != nil {
		return err
	}
	return ldap.deleteEntries(false)
}

// destroy removes everything the plugin made: the entries, the two
// containers and the seq file. The base entry stays; the site named it.
func destroy(ldap *directory) error {
	if err := removeSeq(seqFile); err != nil {
		return err
	}
	return ldap.deleteEntries(true)
}

// deleteEntries deletes every entry below ou=principals and ou=policies,
// and the containers themselves if withContainers.
func (d *directory) deleteEntries(withContainers bool) error {
	p, err := newPlan()
	if err != nil {
		return err
	}
	defer p.discard()
	for _, container := range []string{d.cfg.principalsDN(), d.cfg.policiesDN()} {
		found, err := d.search(container, "one", "(objectClass=*)", nil, func(r ldifRecord) error {
			p.w.remove(r.dn)
			return nil
		})
		if err != nil {
			return err
		}
		if found && withContainers {
			p.w.remove(container)
		}
	}
	return p.apply(d)
}

// plan collects LDIF change records in a temporary file in the working
// directory, to send with one ldapmodify. It holds names and attributes,
// never keys.
type plan struct {
	f *os.File
	w *ldifWriter
}

// newPlan creates the temporary file.
func newPlan() (*plan, error) {
	f, err := os.CreateTemp(".", ".plan-*.ldif")
	if err != nil {
		return nil, fmt.Errorf("LDIF file: %w", err)
	}
	return &plan{f: f, w: newLDIFWriter(f)}, nil
}

// apply sends the records, if there are any, to the directory.
func (p *plan) apply(ldap *directory) error {
	if err := p.w.flush(); err != nil {
		return fmt.Errorf("LDIF file: %w", err)
	}
	if p.w.records == 0 {
		return nil
	}
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("LDIF file: %w", err)
	}
	return ldap.modify(p.f)
}

// discard closes and removes the file.
func (p *plan) discard() {
	p.f.Close()
	os.Remove(p.f.Name())
}

// inventory is what our part of the directory held when the operation
// started, kept up to date as changes are planned.
type inventory struct {
	base, principalsOU, policiesOU bool // whether each exists
	principals, policies           *entrySet
}

// inventory reads which principals and policies have entries: one search
// for each container, returning only the naming attribute.
func (d *directory) inventory() (*inventory, error) {
	inv := &inventory{
		principals: newEntrySet(principalClass, principalRDN, d.cfg.principalDN),
		policies:   newEntrySet(policyClass, policyRDN, d.cfg.policyDN),
	}
	var err error
	inv.base, err = d.search(d.cfg.base, "base", "(objectClass=*)", nil, func(ldifRecord) error { return nil })
	if err != nil || !inv.base {
		return inv, err
	}
	inv.principalsOU, err = d.search(d.cfg.principalsDN(), "one", "(objectClass=*)", []string{principalRDN}, inv.principals.found)
	if err != nil {
		return nil, err
	}
	inv.policiesOU, err = d.search(d.cfg.policiesDN(), "one", "(objectClass=*)", []string{policyRDN}, inv.policies.found)
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// addContainers plans the base and the two containers, where missing. The
// base is created only when it is an organizational unit whose value needs
// no escaping; anything else the site must create.
func (inv *inventory) addContainers(w *ldifWriter, cfg config) error {
	ou := func(dn, name string) {
		w.add(dn, []attribute{{"objectClass", []string{"organizationalUnit"}}, {"ou", []string{name}}})
	}
	if !inv.base {
		rdn, _, _ := strings.Cut(cfg.base, ",")
		typ, value, _ := strings.Cut(rdn, "=")
		if !strings.EqualFold(strings.TrimSpace(typ), "ou") || value == "" || strings.ContainsAny(value, `\+"`) {
			return fmt.Errorf("LDAP_BASE %s does not exist; create it", cfg.base)
		}
		ou(cfg.base, value)
	}
	if !inv.principalsOU {
		ou(cfg.principalsDN(), "principals")
	}
	if !inv.policiesOU {
		ou(cfg.policiesDN(), "policies")
	}
	return nil
}

// write plans one change. Adds and replaces become an add for a new entry
// and a replace of every attribute for an existing one, so it does not
// matter what the entry held before; deletes are planned only for entries
// that exist. Either way, applying a change twice is harmless.
func (inv *inventory) write(w *ldifWriter, c change) error {
	switch c.Op {
	case "principal_add", "principal_replace", "principal_add_key_version":
		if c.Principal == nil {
			return fmt.Errorf("%s %q: no principal record", c.Op, c.Name)
		}
		if c.Name != "" && c.Name != c.Principal.Name {
			return fmt.Errorf("%s %q carries the record of %q", c.Op, c.Name, c.Principal.Name)
		}
		attrs, err := principalAttributes(c.Principal)
		if err != nil {
			return err
		}
		inv.principals.put(w, c.Principal.Name, attrs)
	case "policy_add", "policy_replace":
		if c.Policy == nil {
			return fmt.Errorf("%s %q: no policy record", c.Op, c.Name)
		}
		if c.Name != "" && c.Name != c.Policy.Name {
			return fmt.Errorf("%s %q carries the record of %q", c.Op, c.Name, c.Policy.Name)
		}
		inv.policies.put(w, c.Policy.Name, policyAttributes(c.Policy))
	case "principal_delete":
		inv.principals.remove(w, c.Name)
	case "policy_delete":
		inv.policies.remove(w, c.Name)
	default:
		return fmt.Errorf("unknown change %q", c.Op)
	}
	return nil
}

// entrySet tracks the entries of one kind, by the name they carry in their
// naming attribute.
type entrySet struct {
	class, rdn string
	dnOf       func(name string) string
	present    map[string]string // name to the entry's DN
	delivered  map[string]bool   // names this delivery added or replaced
}

// newEntrySet tracks entries of class named by rdn, dnOf giving a new
// entry's DN.
func newEntrySet(class, rdn string, dnOf func(string) string) *entrySet {
	return &entrySet{class: class, rdn: rdn, dnOf: dnOf, present: map[string]string{}, delivered: map[string]bool{}}
}

// found records an entry from the inventory search.
func (s *entrySet) found(r ldifRecord) error {
	for _, name := range r.attrs[strings.ToLower(s.rdn)] {
		s.present[name] = r.dn
	}
	return nil
}

// put plans an object's whole state: a replace of every attribute if its
// entry exists, an add otherwise.
func (s *entrySet) put(w *ldifWriter, name string, attrs []attribute) {
	s.delivered[name] = true
	if dn, ok := s.present[name]; ok {
		w.replace(dn, attrs)
		return
	}
	dn := s.dnOf(name)
	w.add(dn, append([]attribute{{"objectClass", []string{s.class}}, {s.rdn, []string{name}}}, attrs...))
	s.present[name] = dn
}

// remove plans the deletion of an object's entry, if it has one.
func (s *entrySet) remove(w *ldifWriter, name string) {
	delete(s.delivered, name)
	if dn, ok := s.present[name]; ok {
		w.remove(dn)
		delete(s.present, name)
	}
}

// prune plans the deletion of every entry the delivery did not put.
func (s *entrySet) prune(w *ldifWriter) {
	var stale []string
	for name := range s.present {
		if !s.delivered[name] {
			stale = append(stale, name)
		}
	}
	slices.Sort(stale)
	for _, name := range stale {
		s.remove(w, name)
	}
}
