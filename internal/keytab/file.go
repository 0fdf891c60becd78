package keytab

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxFileSize bounds how much of a keytab is read: far beyond any real
// table (a 100,000-key keytab is under 10 MiB), small enough that a hostile
// or runaway file cannot exhaust memory.
const maxFileSize = 64 << 20

// filePath turns a keytab name into a file path as krb5_kt_resolve does:
// a FILE: or WRFILE: prefix is stripped, a name with no colon or starting
// with "/" is a path, and any other TYPE: prefix is a keytab type that is
// not a file.
func filePath(name string) (string, error) {
	typ, rest, ok := strings.Cut(name, ":")
	switch {
	case !ok || strings.HasPrefix(name, "/"):
		return name, nil
	case typ == "FILE" || typ == "WRFILE":
		if rest == "" {
			return "", fmt.Errorf("keytab %q: empty file name", name)
		}
		return rest, nil
	case len(typ) == 1:
		return name, nil // a drive letter, as MIT allows
	}
	return "", fmt.Errorf("keytab %q: type %s is not a file keytab", name, typ)
}

// Read parses the keytab file name (a path, optionally prefixed with FILE:
// or WRFILE:). It takes a shared lock, as MIT readers do, so it never sees
// another writer's half-written record.
func Read(name string) ([]Entry, error) {
	path, err := filePath(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := lockFile(f, false); err != nil {
		return nil, fmt.Errorf("%s: lock: %w", path, err)
	}
	t, err := readTable(f, path)
	return t.entries, err
}

// readTable reads and parses an open keytab, naming path in errors.
func readTable(f *os.File, path string) (table, error) {
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return table{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return table{}, fmt.Errorf("%s: keytab larger than %d bytes", path, maxFileSize)
	}
	t, err := parse(b)
	if err != nil {
		return table{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Write replaces the keytab file name with entries, atomically: the table
// goes to a temporary file in the same directory (mode 0600), which is
// synced and renamed over name, so a reader sees either the old table or
// the new one.
func Write(name string, entries []Entry) error {
	path, err := filePath(name)
	if err != nil {
		return err
	}
	b, err := Marshal(entries)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return replaceFile(path, b, 0o600, nil)
}

// replaceFile writes data to a temporary file next to path with mode perm
// (and the owner of like, when given), syncs it, renames it over path and
// syncs the directory.
func replaceFile(path string, data []byte, perm os.FileMode, like os.FileInfo) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if like != nil {
		if err = copyOwner(tmp, like); err != nil {
			return fmt.Errorf("%s: %w", tmp.Name(), err)
		}
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Add appends entries to the keytab file name, creating it (mode 0600)
// when missing, as MIT's krb5_kt_add_entry does: under an exclusive lock
// (which excludes MIT tools, other processes and other goroutines alike),
// each record goes where the table ends, written with a zero size first
// and given its real size only once its bytes are on disk, so a crash
// leaves the table as it was or with a prefix of the new entries. Unlike
// MIT, holes left by deleted entries are not reused. The entries keep
// their own timestamps; MIT stamps the time of writing, so pass
// time.Now() to match. An existing 0x0501 file gets 0x0501 records.
func Add(name string, entries ...Entry) error {
	path, err := filePath(name)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f, true); err != nil {
		return fmt.Errorf("%s: lock: %w", path, err)
	}
	if err := appendEntries(f, path, entries); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

func appendEntries(f *os.File, path string, entries []Entry) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	var t table
	var buf []byte
	if fi.Size() == 0 {
		t = table{version: Version2, end: 2}
		buf = binary.BigEndian.AppendUint16(nil, Version2)
	} else if t, err = readTable(f, path); err != nil {
		return err
	}
	start := t.end - len(buf)
	order := orderOf(t.version)
	var sizeAt []int
	for i, e := range entries {
		at := len(buf)
		if buf, err = appendRecord(buf, e, t.version); err != nil {
			return fmt.Errorf("keytab entry %d (%s): %w", i, e.Principal, err)
		}
		sizeAt = append(sizeAt, at)
	}
	// Phase one: bodies with zero sizes, which end the table for any
	// reader, plus (when something followed the old end) a zero record
	// after them so the table still ends there.
	sizes := make([][]byte, len(sizeAt))
	for i, at := range sizeAt {
		sizes[i] = append([]byte(nil), buf[at:at+4]...)
		order.PutUint32(buf[at:], 0)
	}
	if int64(t.end) < fi.Size() {
		buf = append(buf, 0, 0, 0, 0)
	}
	if _, err := f.WriteAt(buf, int64(start)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	// Phase two: commit the sizes in order, each making one more entry
	// visible.
	for i, at := range sizeAt {
		if _, err := f.WriteAt(sizes[i], int64(start+at)); err != nil {
			return err
		}
	}
	return f.Sync()
}

// Remove deletes the entries of the keytab file name for which match is
// true and reports how many it removed. MIT's krb5_kt_remove_entry turns
// a removed entry into a zeroed hole in place; Remove instead rewrites the
// file atomically without the entries (and without any old holes), keeping
// its mode and owner, so a crash leaves either the old or the new table.
// It holds the old file's exclusive lock meanwhile; an MIT writer already
// blocked on that lock would afterwards append to the replaced file, so do
// not run Remove concurrently with MIT tools writing the same keytab.
// Nothing is written when no entry matches.
func Remove(name string, match func(Entry) bool) (int, error) {
	path, err := filePath(name)
	if err != nil {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := lockFile(f, true); err != nil {
		return 0, fmt.Errorf("%s: lock: %w", path, err)
	}
	t, err := readTable(f, path)
	if err != nil {
		return 0, err
	}
	keep := t.entries[:0:0]
	for _, e := range t.entries {
		if !match(e) {
			keep = append(keep, e)
		}
	}
	removed := len(t.entries) - len(keep)
	if removed == 0 {
		return 0, nil
	}
	b, err := Marshal(keep)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := replaceFile(path, b, fi.Mode().Perm(), fi); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return removed, nil
}
