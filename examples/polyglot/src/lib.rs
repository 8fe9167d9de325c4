//! The Rust side of a polyglot repository. Its Go side lives in `go/`,
//! and `tests/go.rs` runs every Go test there as a cargo test, with
//! leakcheck checking each for goroutines it left behind.

/// The sum of `numbers`, as the Go package `clean` computes it too.
pub fn sum(numbers: &[i64]) -> i64 {
    numbers.iter().sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sums() {
        assert_eq!(super::sum(&[1, 2, 3]), 6);
    }
}
