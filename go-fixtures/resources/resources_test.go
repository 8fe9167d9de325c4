package resources

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
)

// files is where the files of the open-file tests are kept, so that the
// garbage collector cannot close them through their finalizers.
var files []*os.File

func TestFileLeftOpen(t *testing.T) {
	f, err := os.Open("testdata/data.txt")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, f)
}

func TestFileClosed(t *testing.T) {
	f, err := os.Open("testdata/data.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.ReadAll(f); err != nil {
		t.Fatal(err)
	}
}

var listeners []net.Listener

func TestListenerLeftOpen(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listeners = append(listeners, l)
}

func TestListenerClosed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func server() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
}

func TestBodyLeftOpen(t *testing.T) {
	srv := server()
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp // the body is never read nor closed
}

func TestBodyClosed(t *testing.T) {
	srv := server()
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
}

func TestProcessNotWaited(t *testing.T) {
	if err := exec.Command("sleep", "30").Start(); err != nil {
		t.Fatal(err)
	}
}

func TestProcessOrphaned(t *testing.T) {
	// sh exits at once; the sleep it started in the background lives on.
	if err := exec.Command("sh", "-c", "sleep 30 &").Run(); err != nil {
		t.Fatal(err)
	}
}

func TestProcessDaemonized(t *testing.T) {
	// A daemon's way out: sh exits, and setsid puts the sleep in a session
	// of its own, so it is neither a descendant nor in the process group.
	if err := exec.Command("sh", "-c", "setsid sleep 30 &").Run(); err != nil {
		t.Fatal(err)
	}
}

func TestProcessDaemonEnds(t *testing.T) {
	// The same way out, by a process that ends on its own at once.
	if err := exec.Command("sh", "-c", "setsid true &").Run(); err != nil {
		t.Fatal(err)
	}
}

func TestProcessWaited(t *testing.T) {
	if err := exec.Command("sleep", "0").Run(); err != nil {
		t.Fatal(err)
	}
}

func TestBufferHeld(t *testing.T) {
	hold(make(chan struct{}))
}

func TestBufferReleased(t *testing.T) {
	ch := make(chan struct{})
	hold(ch)
	close(ch)
}

func TestCacheGrows(t *testing.T) {
	remember(2 << 20)
}

func TestCacheEvicts(t *testing.T) {
	for i := 0; i < 32; i++ {
		rememberBounded(64 << 10)
	}
}

func TestPool(t *testing.T) {
	for i := 0; i < 4; i++ {
		b := pool.Get().([]byte)
		b[0] = byte(i)
		pool.Put(b)
	}
}

type closer struct{ buf []byte }

func (c *closer) Close() error { return nil }

func TestCleanupCapturesBuffer(t *testing.T) {
	// The buffer is the cleanup's until the test is done: it is not kept.
	c := &closer{buf: make([]byte, 4<<20)}
	t.Cleanup(func() { c.Close() })
}

func TestParallelSubtestCleanupCapturesBuffer(t *testing.T) {
	// The same in a parallel subtest, which its parent keeps a pointer to.
	t.Run("sub", func(t *testing.T) {
		t.Parallel()
		c := &closer{buf: make([]byte, 4<<20)}
		t.Cleanup(func() { c.Close() })
	})
}
