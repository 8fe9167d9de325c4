"""Workload generators for bench/run (Python 3 standard library only).

Each function writes one Go module under a directory and returns a short
description. Nothing here runs Go except `go get` for the module that
fetches goleak and leaktest from the module proxy and `go mod download`
for the real module (real_module).
"""

import json
import os
import shutil
import subprocess
import sys

CLEAN_PACKAGES = 50
CLEAN_TESTS = 40
MANY_TESTS = 5000
CROWDED_GOROUTINES = 20000
CROWDED_TESTS = 200
LEAKY_TESTS = 20
BIG_LEAK = 100000
FLOOD_MB = 200
RUNS_FEW = 100
RUNS_MANY = 50000
REAL_MODULE = "github.com/sourcegraph/conc@v0.3.0"


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def _gomod(root, module, go="1.21"):
    _write(os.path.join(root, "go.mod"), f"module {module}\n\ngo {go}\n")


def clean_suite(root, packages=CLEAN_PACKAGES, tests=CLEAN_TESTS):
    """50 packages x 40 tests: every third test is t.Parallel; every test
    starts a few short-lived goroutines and joins them."""
    _gomod(root, "bench.example/clean")
    for p in range(packages):
        pkg = f"p{p:02d}"
        d = os.path.join(root, pkg)
        _write(os.path.join(d, "work.go"), f"""package {pkg}

import "sync"

// Sum adds 1..n in `workers` goroutines and joins them.
func Sum(n, workers int) int {{
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for w := 0; w < workers; w++ {{
		wg.Add(1)
		go func(w int) {{
			defer wg.Done()
			s := 0
			for i := w + 1; i <= n; i += workers {{
				s += i
			}}
			mu.Lock()
			total += s
			mu.Unlock()
		}}(w)
	}}
	wg.Wait()
	return total
}}
""")
        body = [f"package {pkg}\n\nimport \"testing\"\n"]
        for t in range(tests):
            par = "\tt.Parallel()\n" if t % 3 == 0 else ""
            n = 1000 + t
            body.append(f"""
func TestSum{t:02d}(t *testing.T) {{
{par}	if got, want := Sum({n}, {2 + t % 4}), {n * (n + 1) // 2}; got != want {{
		t.Fatalf("Sum = %d, want %d", got, want)
	}}
	done := make(chan struct{{}})
	go func() {{ close(done) }}()
	<-done
}}
""")
        _write(os.path.join(d, "sum_test.go"), "".join(body))
    return f"{packages} packages x {tests} tests (1 in 3 t.Parallel), short goroutines joined"


def many_tests(root, tests=MANY_TESTS):
    """5,000 tiny tests in one package."""
    _gomod(root, "bench.example/many")
    _write(os.path.join(root, "many", "add.go"),
           "package many\n\nfunc Add(a, b int) int { return a + b }\n")
    body = ["package many\n\nimport \"testing\"\n"]
    for t in range(tests):
        body.append(f"""
func TestAdd{t:04d}(t *testing.T) {{
	if Add({t}, 1) != {t + 1} {{
		t.Fatal("bad")
	}}
}}
""")
    _write(os.path.join(root, "many", "add_test.go"), "".join(body))
    return f"{tests} tiny tests in one package"


def crowded(root, goroutines=CROWDED_GOROUTINES, tests=CROWDED_TESTS):
    """TestMain keeps 20,000 goroutines alive while 200 tests run."""
    _gomod(root, "bench.example/crowded")
    body = [f"""package crowded

import (
	"os"
	"sync"
	"testing"
)

func park(stop chan struct{{}}, wg *sync.WaitGroup, depth int) {{
	if depth > 0 {{
		park(stop, wg, depth-1)
		return
	}}
	wg.Done()
	<-stop
}}

func TestMain(m *testing.M) {{
	stop := make(chan struct{{}})
	var wg sync.WaitGroup
	for i := 0; i < {goroutines}; i++ {{
		wg.Add(1)
		go park(stop, &wg, i%4)
	}}
	wg.Wait()
	code := m.Run()
	close(stop)
	os.Exit(code)
}}
"""]
    for t in range(tests):
        par = "\tt.Parallel()\n" if t % 4 == 0 else ""
        body.append(f"""
func TestWork{t:03d}(t *testing.T) {{
{par}	var wg sync.WaitGroup
	wg.Add(2)
	for i := 0; i < 2; i++ {{
		go func() {{ wg.Done() }}()
	}}
	wg.Wait()
}}
""")
    _write(os.path.join(root, "crowded", "crowded_test.go"), "".join(body))
    return f"TestMain keeps {goroutines} goroutines alive, {tests} tests"


LEAK_TEST = """
func TestLeak{i:02d}(t *testing.T) {{
{prologue}	ch := make(chan int)
	go func() {{
		<-ch // nothing ever sends: blocked on an unreachable channel
	}}()
}}
"""

CLEAN_TWIN = """
func TestLeak{i:02d}(t *testing.T) {{
{prologue}	ch := make(chan int)
	go func() {{
		<-ch
	}}()
	close(ch)
}}
"""


def leaky(root, tests=LEAKY_TESTS, proxy=True):
    """20 tests that each leak one goroutine blocked on an unreachable
    channel, plain (for leakcheck) and instrumented with goleak and with
    leaktest; each package has a clean twin (the goroutine is released),
    so the verdict cost is the difference. Returns (description, has_proxy_libs)."""
    _gomod(root, "bench.example/leaky")
    variants = {
        "plain": ("", ""),
        "goleak": ('\t"go.uber.org/goleak"\n', "\tdefer goleak.VerifyNone(t)\n"),
        "leaktest": ('\t"github.com/fortytw2/leaktest"\n', "\tdefer leaktest.Check(t)()\n"),
    }
    for name, (imp, prologue) in variants.items():
        for twin, template in (("", LEAK_TEST), ("clean", CLEAN_TWIN)):
            pkg = name + twin
            body = [f"package {pkg}\n\nimport (\n\t\"testing\"\n{imp})\n"]
            for i in range(tests):
                body.append(template.format(i=i, prologue=prologue))
            _write(os.path.join(root, pkg, "leak_test.go"), "".join(body))
    ok = False
    if proxy:
        env = dict(os.environ, GOFLAGS="-mod=mod")
        r = subprocess.run(
            ["go", "get", "go.uber.org/goleak@v1.3.0", "github.com/fortytw2/leaktest@v1.3.0"],
            cwd=root, env=env, capture_output=True, text=True, timeout=300)
        ok = r.returncode == 0
        if ok:
            # go get may raise the go line; keep 1.21 so Go 1.21 can run it.
            subprocess.run(["go", "mod", "edit", "-go=1.21"], cwd=root, check=True)
    if not ok:
        for pkg in ("goleak", "goleakclean", "leaktest", "leaktestclean"):
            d = os.path.join(root, pkg)
            for f in os.listdir(d):
                os.remove(os.path.join(d, f))
            os.rmdir(d)
    return f"{tests} tests each leaking one goroutine (chan receive, unreachable)", ok


def real_module(root, module=REAL_MODULE):
    """A real module from the Go module proxy (MOD@VERSION), copied into
    root and made writable (its directory in the module cache is
    read-only); `go mod download` in the copy puts its dependencies in the
    module cache, so that timed runs download nothing. Returns a short
    description, or None if the proxy could not serve it."""
    parent = os.path.dirname(os.path.abspath(root))  # outside any module
    os.makedirs(parent, exist_ok=True)
    r = subprocess.run(["go", "mod", "download", "-json", module],
                       cwd=parent, capture_output=True, text=True, timeout=300)
    try:
        info = json.loads(r.stdout)
    except ValueError:
        info = {}
    if r.returncode != 0 or not info.get("Dir"):
        print(f"go mod download {module} failed: {info.get('Error') or r.stderr.strip()}",
              file=sys.stderr, flush=True)
        return None
    shutil.copytree(info["Dir"], root)
    for d, dirs, files in os.walk(root):
        for name in [d] + [os.path.join(d, f) for f in files]:
            os.chmod(name, os.stat(name).st_mode | 0o200)
    r = subprocess.run(["go", "mod", "download"], cwd=root, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        print(f"go mod download in {module} failed: {r.stderr.strip()}",
              file=sys.stderr, flush=True)
        return None
    return f"{module} (proxy), dependencies in the module cache"


def big_leak(root, goroutines):
    """One test that leaks `goroutines` goroutines (the largest dump
    leakcheck has to parse in full), for peak memory. With
    BENCH_DUMP_SIZE_FILE set, the test writes there the size of a
    runtime.Stack(all) dump taken at its end (as the helper's next one)."""
    _gomod(root, "bench.example/bigleak")
    _write(os.path.join(root, "bigleak", "big_test.go"), f"""package bigleak

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

func TestBig(t *testing.T) {{
	ch := make(chan int)
	var parked sync.WaitGroup
	parked.Add({goroutines})
	for i := 0; i < {goroutines}; i++ {{
		go func() {{
			parked.Done()
			<-ch
		}}()
	}}
	parked.Wait()
	if f := os.Getenv("BENCH_DUMP_SIZE_FILE"); f != "" {{
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		for n == len(buf) {{
			buf = make([]byte, 2*len(buf))
			n = runtime.Stack(buf, true)
		}}
		os.WriteFile(f, []byte(strconv.Itoa(n)), 0o644)
	}}
}}
""")
    return f"one test leaking {goroutines} goroutines"


def spawn(root, goroutines=100000):
    """One test that creates and joins `goroutines` goroutines, three
    calls deep (what --chains makes every go statement save)."""
    _gomod(root, "bench.example/spawn")
    _write(os.path.join(root, "spawn", "spawn_test.go"), f"""package spawn

import (
	"sync"
	"testing"
)

func start(wg *sync.WaitGroup, f func()) {{
	wg.Add(1)
	go func() {{
		defer wg.Done()
		f()
	}}()
}}

func fanOut(n int) {{
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {{
		start(&wg, func() {{}})
	}}
	wg.Wait()
}}

func TestSpawn(t *testing.T) {{
	fanOut({goroutines})
}}
""")
    return f"one test creating and joining {goroutines} goroutines"


def flood(root, mb=FLOOD_MB):
    """One test that prints `mb` MB to stdout in 100-byte lines, and one
    tiny test (run many times for the per-run memory)."""
    _gomod(root, "bench.example/flood")
    _write(os.path.join(root, "flood", "flood_test.go"), f"""package flood

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestFlood(t *testing.T) {{
	line := strings.Repeat("x", 99)
	for i := 0; i < {mb} * 10000; i++ {{
		fmt.Println(line)
	}}
}}

func TestTiny(t *testing.T) {{}}

// TestFloodBehind is TestFlood, run beside aslow's TestWaitForFlood:
// it says when it is done by creating the file FLOOD_DONE names.
func TestFloodBehind(t *testing.T) {{
	TestFlood(t)
	if err := os.WriteFile(os.Getenv("FLOOD_DONE"), nil, 0o644); err != nil {{
		t.Fatal(err)
	}}
}}
""")
    # Listed (and so printed) before flood: a package that ends only once
    # TestFloodBehind is done, so that all of flood's output waits for its
    # turn, whatever the machine's speed.
    _write(os.path.join(root, "aslow", "aslow_test.go"), """package aslow

import (
	"os"
	"testing"
	"time"
)

func TestWaitForFlood(t *testing.T) {
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(os.Getenv("FLOOD_DONE")); err == nil {
			return
		}
	}
	t.Fatal("TestFloodBehind never finished")
}
""")
    return f"one test printing {mb} MB"


def dumps(out_dir, sizes=(1, 1000, 100000)):
    """Captures goroutine dumps of 1, 1,000 and 100,000 goroutines into
    out_dir/dump-N.txt with bench/dumpgen (labels printed with
    GODEBUG=tracebacklabels=1, as leakcheck runs test binaries)."""
    os.makedirs(out_dir, exist_ok=True)
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dumpgen")
    exe = os.path.join(out_dir, "dumpgen")
    subprocess.run(["go", "build", "-o", exe, "."], cwd=src, check=True)
    env = dict(os.environ)
    env["GODEBUG"] = ",".join(x for x in (env.get("GODEBUG", ""), "tracebacklabels=1") if x)
    paths = {}
    for n in sizes:
        path = os.path.join(out_dir, f"dump-{n}.txt")
        with open(path, "wb") as f:
            subprocess.run([exe, str(n)], stdout=f, env=env, check=True)
        paths[n] = path
    return paths
