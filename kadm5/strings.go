package kadm5

import (
	"bytes"
	"context"
	"errors"

	"github.com/krb5prop/krb5prop/kdb"
)

// ErrStringsTooLong is MIT's KRB5_KDB_STRINGS_TOOLONG: the encoded string
// attributes would not fit a tl-data item.
var ErrStringsTooLong = errors.New("Too much string mapping data")

// maxTLData is the largest tl-data item MIT stores (a 16-bit length).
const maxTLData = 65535

// GetStrings returns a principal's string attributes (kadm5_get_strings).
func (s *Server) GetStrings(ctx context.Context, name kdb.Name) ([]kdb.StringAttr, error) {
	p, err := s.GetPrincipal(ctx, name)
	if err != nil {
		return nil, err
	}
	return p.StringAttrs(), nil
}

// SetString sets one string attribute, as kadm5_set_string does: an
// existing key keeps its place, a new one goes last.
func (s *Server) SetString(ctx context.Context, name kdb.Name, key, value string) error {
	return s.setString(ctx, name, key, &value)
}

// DeleteString removes one string attribute (kadm5_set_string with no
// value). Removing a key that is not there still rewrites the entry, as in
// MIT.
func (s *Server) DeleteString(ctx context.Context, name kdb.Name, key string) error {
	return s.setString(ctx, name, key, nil)
}

// setString is krb5_dbe_set_string followed by kdb_put_entry. As in MIT,
// the KRB5_TL_STRING_ATTRS item stays (empty) when the last attribute is
// removed, so dumps match.
func (s *Server) setString(ctx context.Context, name kdb.Name, key string, value *string) error {
	return s.Store.Update(ctx, func(tx *kdb.Tx) error {
		p, ad, err := getAdmin(ctx, tx, name)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		add := func(k, v string) {
			buf.WriteString(k)
			buf.WriteByte(0)
			buf.WriteString(v)
			buf.WriteByte(0)
		}
		found := false
		for _, a := range p.StringAttrs() {
			if a.Key != key {
				add(a.Key, a.Value)
				continue
			}
			found = true
			if value != nil {
				add(a.Key, *value)
			}
		}
		if !found && value != nil {
			add(key, *value)
		}
		if buf.Len() > maxTLData {
			return ErrStringsTooLong
		}
		p.SetTL(kdb.TLStringAttrs, buf.Bytes())
		return s.putAdmin(ctx, tx, p, ad)
	})
}
