package propagation

import (
	"os"
	"runtime"
)

func memStats() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o600) }
