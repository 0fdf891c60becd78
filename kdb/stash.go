package kdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/krb5prop/krb5prop/internal/keytab"

	"github.com/krb5prop/krb5prop/internal/atomicfile"
)

// ReadStash reads the master keys of mkeyName from an MIT stash file. MIT's
// stash is a keytab (version 0x0502); files from before MIT 1.7 hold one
// raw key instead (2-byte enctype, 4-byte length, key, in host byte order),
// which is read as kvno 1.
func ReadStash(path string, mkeyName Name) ([]MasterKey, error) {
	entries, err := keytab.Read(path)
	if errors.Is(err, keytab.ErrBadVersion) {
		return readRawStash(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read stash file %s: %w", path, err)
	}
	var out []MasterKey
	for _, e := range entries {
		if !e.Principal.Equal(keytab.Principal{Components: mkeyName.Components, Realm: mkeyName.Realm}) {
			continue
		}
		if e.KVNO == 0 || e.KVNO > 0xffff {
			return nil, fmt.Errorf("stash file %s: master key kvno %d out of range", path, e.KVNO)
		}
		out = append(out, MasterKey{KVNO: uint16(e.KVNO), Key: e.Key})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("stash file %s: no key for %s", path, mkeyName)
	}
	return out, nil
}

// maxRawStashKey is MIT's limit on a pre-1.7 stash key length.
const maxRawStashKey = 1024

func readRawStash(path string) ([]MasterKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stash file %s: %w", path, err)
	}
	if len(b) < 6 {
		return nil, fmt.Errorf("stash file %s: truncated (%d bytes)", path, len(b))
	}
	etype := int32(int16(binary.LittleEndian.Uint16(b)))
	n := binary.LittleEndian.Uint32(b[2:])
	if n == 0 || n > maxRawStashKey || int(n) > len(b)-6 {
		return nil, fmt.Errorf("stash file %s: not a keytab and not a valid raw key (length %d)", path, n)
	}
	key := types.EncryptionKey{KeyType: etype, KeyValue: append([]byte(nil), b[6:6+n]...)}
	return []MasterKey{{KVNO: 1, Key: key}}, nil
}

// WriteStash writes keys as MIT's stash: a new keytab written to
// "<path>_tmp" and renamed over path, mode 0600. As in MIT, an existing
// "<path>_tmp" (another writer, or a crashed one) is an error rather than
// something to overwrite.
func WriteStash(path string, mkeyName Name, keys []MasterKey, now time.Time) error {
	entries := make([]keytab.Entry, len(keys))
	for i, k := range keys {
		entries[i] = keytab.Entry{
			Principal: keytab.Principal{Components: mkeyName.Components, Realm: mkeyName.Realm, NameType: NameTypePrincipal},
			Timestamp: now,
			KVNO:      uint32(k.KVNO),
			Key:       k.Key,
		}
	}
	data, err := keytab.Marshal(entries)
	if err != nil {
		return fmt.Errorf("write stash file %s: %w", path, err)
	}
	tmp := path + "_tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write stash file %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write stash file %s: %w", path, err)
	}
	// The stash is in place; a failed directory sync only leaves the
	// rename less durable, as MIT's never syncs at all.
	atomicfile.SyncDir(filepath.Dir(path))
	return nil
}
