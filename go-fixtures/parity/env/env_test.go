package env

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

const childVar = "PARITY_HELPER_CHILD"

// checkEnvironment fails t on a LEAKCHECK* variable, or a GODEBUG that is
// not PARITY_WANT_GODEBUG.
func checkEnvironment(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if strings.HasPrefix(strings.ToUpper(kv), "LEAKCHECK") {
			t.Errorf("environment has %q", kv)
		}
	}
	if got, want := os.Getenv("GODEBUG"), os.Getenv("PARITY_WANT_GODEBUG"); got != want {
		t.Errorf("GODEBUG = %q, want %q", got, want)
	}
}

func TestEnvironment(t *testing.T) {
	checkEnvironment(t)
}

func TestSetenvGodebug(t *testing.T) {
	t.Setenv("GODEBUG", "panicnil=1")
	if got := os.Getenv("GODEBUG"); got != "panicnil=1" {
		t.Fatalf("GODEBUG = %q after t.Setenv, want %q", got, "panicnil=1")
	}
	recovered := func() (r any) {
		defer func() { r = recover() }()
		panic(nil) // recovers nil under GODEBUG=panicnil=1
	}()
	if recovered != nil {
		t.Fatalf("with GODEBUG=panicnil=1, recover() after panic(nil) = %#v, want nil", recovered)
	}
}

// TestHelperProcess is the child process of TestRunsHelper; in the
// parent it does nothing.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(childVar) != "1" {
		return
	}
	checkEnvironment(t)
	t.Log("helper process checked its environment")
}

func TestRunsHelper(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childVar+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "helper process checked its environment") || !strings.Contains(string(out), "--- PASS: TestHelperProcess") {
		t.Fatalf("helper process output:\n%s", out)
	}
}
