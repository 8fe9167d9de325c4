// Package rangeconsumer is a leakcheck fixture for the "consumer stops
// ranging early" leak.
//
// firstTwo starts a producer that sends an endless stream of numbers on an
// unbuffered channel and a consumer that ranges over that channel but returns
// after two items. The consumer finishes; the producer blocks forever on its
// next send: TestFirstTwo leaks exactly one goroutine (the producer).
//
// firstTwoFixed gives the producer a done channel to select on; the caller
// closes done once the consumer has returned, so the producer exits:
// TestFirstTwoFixed is clean.
package rangeconsumer

// produce sends 0, 1, 2, ... on out forever.
func produce(out chan<- int) {
	for i := 0; ; i++ {
		out <- i
	}
}

// produceUntil sends 0, 1, 2, ... on out until done is closed.
func produceUntil(done <-chan struct{}, out chan<- int) {
	for i := 0; ; i++ {
		select {
		case out <- i:
		case <-done:
			return
		}
	}
}

// consume ranges over in, keeps the first n items and stops early.
func consume(in <-chan int, n int, result chan<- []int) {
	var got []int
	for v := range in {
		got = append(got, v)
		if len(got) == n {
			break
		}
	}
	result <- got
}

// firstTwo returns the first two produced numbers; the producer leaks.
func firstTwo() []int {
	out := make(chan int)
	result := make(chan []int)
	go produce(out) // want-leak: TestFirstTwo
	go consume(out, 2, result)
	return <-result
}

// firstTwoFixed returns the first two produced numbers without leaking.
func firstTwoFixed() []int {
	done := make(chan struct{})
	defer close(done)
	out := make(chan int)
	result := make(chan []int)
	go produceUntil(done, out)
	go consume(out, 2, result)
	return <-result
}
