package helperprocess

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const helperGreeting = "hello from helper process"

func TestHelperBefore1(t *testing.T) {}

func TestHelperBefore2(t *testing.T) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") == "1" {
		t.Fatal("GO_WANT_HELPER_PROCESS=1 in the parent test process")
	}
}

// TestHelperProcess is not a real test: it is the child process that
// TestRunsHelper starts.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") != "1" {
		return
	}
	fmt.Println(helperGreeting)
	os.Exit(0)
}

func TestRunsHelper(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "GO_WANT_HELPER_PROCESS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), helperGreeting) {
		t.Fatalf("helper process output = %q, want it to contain %q", out, helperGreeting)
	}
}

func TestHelperAfter1(t *testing.T) {}

func TestHelperAfter2(t *testing.T) {}
