// Package flaky is a leakcheck fixture whose leak depends on timing.
//
// TestFlakyLeak calls Fetch: a worker does a random amount of work (it
// busy-waits for a duration uniform in [0, 2ms), drawn with math/rand
// seeded from the clock) and then sends its result on an unbuffered
// channel, while the caller selects between that result and a 1ms timer.
// When the timer wins, nobody ever receives, and the worker stays blocked
// on its send forever: a leak. When the worker wins, nothing leaks. So a
// single run of TestFlakyLeak either passes cleanly or leaks one goroutine
// (created in fetch, blocked in chan send), each in roughly half the runs;
// its expected outcome is "flaky". The test itself always passes under
// plain go test.
//
// TestFlakyFixed runs the same race through FetchFixed, whose channel has
// a buffer of one, so the worker's send never blocks and it always exits
// within about 2ms: clean whichever side wins. The other tests are
// trivially clean.
//
// want: TestFlakyBefore1=pass TestFlakyBefore2=pass TestFlakyFixed=pass TestFlakyLeak=flaky TestFlakyAfter1=pass TestFlakyAfter2=pass
package flaky
