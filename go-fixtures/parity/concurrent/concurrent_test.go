package concurrent

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// churners is the number of TestChurnNN tests.
const churners = 24

// ended counts the TestChurnNN tests that have ended.
var ended atomic.Int32

func TestWatchWhileTestsEnd(t *testing.T) {
	t.Parallel()
	want := os.Getenv("PARITY_WANT_GODEBUG")
	bad := map[string]int{}
	reads := 0
	for deadline := time.Now().Add(3 * time.Second); ended.Load() < churners && time.Now().Before(deadline); reads++ {
		if got := os.Getenv("GODEBUG"); got != want {
			bad[fmt.Sprintf("GODEBUG = %q, want %q", got, want)]++
		}
		runtime.Gosched()
	}
	var seen []string
	for what := range bad {
		seen = append(seen, what)
	}
	sort.Strings(seen)
	for _, what := range seen {
		t.Errorf("%s (%d of %d reads)", what, bad[what], reads)
	}
}

// churn starts and joins a few goroutines in a parallel test.
func churn(t *testing.T) {
	t.Parallel()
	defer ended.Add(1)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.Gosched()
		}()
	}
	wg.Wait()
}

func TestChurn01(t *testing.T) { churn(t) }

func TestChurn02(t *testing.T) { churn(t) }

func TestChurn03(t *testing.T) { churn(t) }

func TestChurn04(t *testing.T) { churn(t) }

func TestChurn05(t *testing.T) { churn(t) }

func TestChurn06(t *testing.T) { churn(t) }

func TestChurn07(t *testing.T) { churn(t) }

func TestChurn08(t *testing.T) { churn(t) }

func TestChurn09(t *testing.T) { churn(t) }

func TestChurn10(t *testing.T) { churn(t) }

func TestChurn11(t *testing.T) { churn(t) }

func TestChurn12(t *testing.T) { churn(t) }

func TestChurn13(t *testing.T) { churn(t) }

func TestChurn14(t *testing.T) { churn(t) }

func TestChurn15(t *testing.T) { churn(t) }

func TestChurn16(t *testing.T) { churn(t) }

func TestChurn17(t *testing.T) { churn(t) }

func TestChurn18(t *testing.T) { churn(t) }

func TestChurn19(t *testing.T) { churn(t) }

func TestChurn20(t *testing.T) { churn(t) }

func TestChurn21(t *testing.T) { churn(t) }

func TestChurn22(t *testing.T) { churn(t) }

func TestChurn23(t *testing.T) { churn(t) }

func TestChurn24(t *testing.T) { churn(t) }
