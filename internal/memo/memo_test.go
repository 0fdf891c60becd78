package memo

import (
	"strconv"
	"sync"
	"testing"
)

func TestMapBound(t *testing.T) {
	m := New[int](3)
	for i := range 3 {
		m.Put(strconv.Itoa(i), i)
	}
	if v, ok := m.Get("1"); !ok || v != 1 {
		t.Fatalf("Get(1) = %d, %v", v, ok)
	}
	m.Put("3", 3) // full: emptied first
	if m.Len() != 1 {
		t.Errorf("Len %d after overflow, want 1", m.Len())
	}
	if _, ok := m.Get("0"); ok {
		t.Error("an old value survived the overflow")
	}
	if v, ok := m.Get("3"); !ok || v != 3 {
		t.Errorf("Get(3) = %d, %v", v, ok)
	}
}

func TestMapConcurrent(t *testing.T) {
	m := New[int](64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := strconv.Itoa(g*1000 + i)
				m.Put(k, i)
				if v, ok := m.Get(k); ok && v != i {
					t.Errorf("Get(%s) = %d, want %d", k, v, i)
				}
			}
		}()
	}
	wg.Wait()
	if m.Len() > 64 {
		t.Errorf("Len %d, want at most 64", m.Len())
	}
}
