// Package rare holds leakcheck fixtures of rare interleavings, for
// `leakcheck --stress`: each test misbehaves only when its goroutines are
// scheduled in one narrow way, in about 1 in 100 to 1 in 5,000 plain
// runs (bench/RESULTS.md has the measured rates), and always in the same
// way when it does, so that what leakcheck reports is known exactly:
//
//   - TestRareABBA: two goroutines lock A then B and B then A. Deadlocks
//     (hang) only when each takes its first lock before the other takes
//     its second.
//   - TestRareRLock: a method holding a read lock calls another that read
//     locks again. Deadlocks (hang) only when a writer's Lock comes in
//     between the two RLocks.
//   - TestRareLostSignal: a waiter checks a flag, unlocks, and then waits
//     on a sync.Cond. Leaks (blocked in sync.Cond.Wait) only when the
//     Signal comes between the check and the Wait.
//   - TestRareSendClose: a producer checks that a queue is open, then
//     sends. Crashes (send on closed channel) only when the queue is
//     closed between the check and the send.
//   - TestRareStopEarly: Stop tells the worker to stop only if it has
//     started. Leaks (blocked in chan receive) only when Stop comes before
//     the worker ran.
//   - TestRarePreempted (only with -tags rare,preempt, in preempt.go): a
//     worker renews a lease as it spins; a watcher that finds the lease
//     older than 1ms takes over and waits for a handover that never
//     comes. Leaks (blocked in chan receive) only when the worker's
//     thread is kept off its CPU for over a millisecond: a window that
//     CPU contention opens (bench/RESULTS.md: a --contention variant was
//     measured with it, and dropped).
//
// Every test passes under go test when nothing fires (the leaks pass
// even then). The tests are built only with `-tags rare`, so that
// `go test ./...` and leakcheck's runs of this module without the tag do
// not meet them by chance.
//
// LEAKCHECK_RARE_WIDEN (a Go duration, e.g. 20ms) widens every window to
// a sleep of about that long, so that each fixture misbehaves on every
// run: leakcheck's own tests use it to be certain of what they find.
package rare
