// Command service is a small HTTP service that leaks a goroutine on every
// request, for leakcheck's inspect, diff and watch tests (tests/inspect.rs).
//
// It serves net/http/pprof's endpoints and the /query handler of the
// articles that diagnose such leaks by hand: a query asks three "tables"
// at once and reads the first two replies, so the third sender blocks
// forever on an unbuffered channel. The three senders share one go
// statement, so every leaked sender has the same creation site.
//
//	service [-addr 127.0.0.1:0]
//
// prints "listening on http://ADDR" once it accepts connections.
//
//	service -capture DIR [-n N] [-crash panic|sigquit]
//
// serves on a loopback port, sends N queries to itself, waits until the N
// leaked senders are parked, then writes what its pprof endpoints answer
// (goroutine at debug=2, 1 and 0, and goroutineleak at each when the
// runtime has it) into DIR; with -crash it then panics or sends itself
// SIGQUIT, and the runtime's dump goes to stderr.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func query(w http.ResponseWriter, r *http.Request) {
	c := make(chan byte)
	for _, table := range []byte{0x31, 0x32, 0x33} {
		go func(b byte) { // leakcheck-inspect: created
			c <- b // leakcheck-inspect: blocked
		}(table)
	}
	rs := make([]byte, 0, 2)
	for i := 0; i < 2; i++ {
		rs = append(rs, <-c)
	}
	_, _ = w.Write(rs)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	capture := flag.String("capture", "", "write the pprof endpoints' answers into `DIR` and exit")
	n := flag.Int("n", 5, "queries to send before capturing")
	crash := flag.String("crash", "", "after capturing, `panic` or `sigquit`")
	flag.Parse()

	http.HandleFunc("/query", query)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	if *capture == "" {
		fmt.Printf("listening on %s\n", base)
		log.Fatal(http.Serve(ln, nil))
	}
	go func() { log.Fatal(http.Serve(ln, nil)) }()
	if err := captureAll(base, *capture, *n); err != nil {
		log.Fatal(err)
	}
	switch *crash {
	case "":
	case "panic":
		panic("boom")
	case "sigquit":
		if err := syscall.Kill(os.Getpid(), syscall.SIGQUIT); err != nil {
			log.Fatal(err)
		}
		select {}
	default:
		log.Fatalf("-crash %q: want panic or sigquit", *crash)
	}
}

// captureAll sends n queries to base, waits for their leaked senders to
// park, and writes each goroutine profile base serves into dir.
func captureAll(base, dir string, n int) error {
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < n; i++ {
		if _, err := get(client, base+"/query"); err != nil {
			return err
		}
	}
	if err := waitParked(n); err != nil {
		return err
	}
	type profile struct{ name, file string }
	profiles := []profile{
		{"goroutine?debug=2", "debug2.txt"},
		{"goroutine?debug=1", "debug1.txt"},
		{"goroutine?debug=0", "debug0.pb.gz"},
	}
	if pprof.Lookup("goroutineleak") != nil {
		profiles = append(profiles,
			profile{"goroutineleak?debug=2", "leak-debug2.txt"},
			profile{"goroutineleak?debug=1", "leak-debug1.txt"},
			profile{"goroutineleak?debug=0", "leak-debug0.pb.gz"})
	}
	for _, p := range profiles {
		body, err := get(client, base+"/debug/pprof/"+p.name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p.file), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func get(client *http.Client, url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// waitParked waits until n goroutines are blocked sending in query.
func waitParked(n int) error {
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		dump := string(buf[:runtime.Stack(buf, true)])
		parked := 0
		for _, g := range strings.Split(dump, "\n\n") {
			if strings.Contains(g, "[chan send]:") && strings.Contains(g, "main.query.func1(") {
				parked++
			}
		}
		if parked == n {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the %d leaked senders never all parked", n)
}
