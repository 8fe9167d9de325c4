// Package usertestmainx is a leakcheck fixture for a package whose TestMain
// is declared in the external test file (package usertestmainx_test, in
// main_test.go), while the package also has an internal test file.
//
// TestMain sets the environment variable USERTESTMAINX_SETUP=1 and the
// package-level variable setupDone (in the _test package) before calling
// os.Exit(m.Run()). TestMain starts no goroutines.
//
//   - TestQueuePopLeak (internal_test.go) checks the environment variable and
//     leaks one goroutine blocked forever in Queue.Pop on an empty queue.
//   - TestQueueClean (main_test.go) checks setupDone, pushes and pops an
//     item across goroutines and joins them: it is clean.
package usertestmainx

// Queue is a tiny blocking queue.
type Queue struct {
	items chan string
}

// NewQueue returns a queue with room for n items.
func NewQueue(n int) *Queue {
	return &Queue{items: make(chan string, n)}
}

// Push adds s to the queue.
func (q *Queue) Push(s string) { q.items <- s }

// Pop removes and returns the next item, blocking while the queue is empty.
func (q *Queue) Pop() string { return <-q.items }
