// Package clean sums numbers with a few goroutines, all joined before it
// returns: nothing leaks.
package clean

import "sync"

// Sum adds numbers, splitting the work between workers goroutines.
func Sum(numbers []int64, workers int) int64 {
	if workers < 1 {
		workers = 1
	}
	partial := make([]int64, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(numbers); i += workers {
				partial[w] += numbers[i]
			}
		}(w)
	}
	wg.Wait()
	var total int64
	for _, p := range partial {
		total += p
	}
	return total
}
