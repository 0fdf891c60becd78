package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWritebackFile checks that the file is written whole and that
// writeback is started chunk by chunk, not for every write.
func TestWritebackFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "from_master.temp")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := &writebackFile{f: f}
	block := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for i := 0; i < 20; i++ {
		if _, err := w.Write(block); err != nil {
			t.Fatal(err)
		}
		if w.flushed%writebackChunk != 0 || w.written-w.flushed >= writebackChunk {
			t.Fatalf("after %d MiB: writeback started for %d of %d bytes", i+1, w.flushed, w.written)
		}
	}
	if w.flushed != 16<<20 {
		t.Errorf("writeback started for %d bytes, want 16 MiB", w.flushed)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 20<<20 {
		t.Errorf("file: %v, %v", fi, err)
	}
}
