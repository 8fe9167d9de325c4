// Package resources is leakcheck's fixture for leaks beyond goroutines
// (`leakcheck --check fds,processes,heap`): each leaking test has a clean
// twin. It is a module of its own, so that the goroutine fixtures'
// counts (`leakcheck -C go-fixtures ./...`) stay as they are.
package resources

import (
	"runtime"
	"sync"
)

// hold keeps a 10 MiB buffer alive in a goroutine that waits on ch.
func hold(ch chan struct{}) {
	buf := make([]byte, 10<<20) // want-heap: TestBufferHeld
	go func() {
		<-ch
		runtime.KeepAlive(buf)
	}()
}

// cache grows by 2 MiB on every call: nothing is ever evicted.
var cache = map[int][]byte{}

func remember(n int) {
	cache[len(cache)] = make([]byte, n) // want-heap: TestCacheGrows
}

// bounded keeps its 8 newest entries in a ring: it stays at 512 KiB of
// 64 KiB entries, however many go in.
var (
	boundedMu sync.Mutex
	bounded   [8][]byte
	next      int
)

func rememberBounded(n int) {
	boundedMu.Lock()
	defer boundedMu.Unlock()
	bounded[next%len(bounded)] = make([]byte, n)
	next++
}

// pool hands out 2 MiB buffers.
var pool = sync.Pool{New: func() any { return make([]byte, 2<<20) }}
