//! Sharding a run across machines (`--partition count:M/N` and
//! `--partition hash:M/N`, nextest's syntax and meaning): this module owns
//! parsing the spec and deciding which packages a shard runs. Pure logic;
//! the runner applies it right after `go list`.
//!
//! - `count:M/N`: the packages sorted by import path are dealt round-robin
//!   to N shards; shard M (1-based) gets the 1st, (N+1)th, ... of its turn:
//!   package `i` (0-based, sorted) goes to shard `i % N + 1`. Shards differ
//!   in size by at most one package, but adding a package can move others.
//! - `hash:M/N`: package `p` goes to shard `fnv1a64(p) % N + 1`, where
//!   `fnv1a64` is the 64-bit FNV-1a hash of the import path's UTF-8 bytes
//!   (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`). A package
//!   stays in its shard however the package list changes.
//!
//! Either way, shards 1..=N of the same package list are disjoint and
//! cover every package exactly once.

use std::fmt;
use std::str::FromStr;

/// How packages are dealt to shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionKind {
    Count,
    Hash,
}

/// One shard of N: `shard` is 1-based, `1 <= shard <= total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub kind: PartitionKind,
    pub shard: u64,
    pub total: u64,
}

impl FromStr for Partition {
    type Err = String;

    /// Parses `count:M/N` or `hash:M/N`.
    fn from_str(spec: &str) -> Result<Partition, String> {
        let usage = "expected count:M/N or hash:M/N, with 1 <= M <= N";
        let (kind, rest) = spec
            .split_once(':')
            .ok_or_else(|| format!("invalid partition {spec:?}: {usage}"))?;
        let kind = match kind {
            "count" => PartitionKind::Count,
            "hash" => PartitionKind::Hash,
            other => {
                return Err(format!(
                    "invalid partition {spec:?}: unknown kind {other:?} ({usage})"
                ))
            }
        };
        let (m, n) = rest
            .split_once('/')
            .ok_or_else(|| format!("invalid partition {spec:?}: {usage}"))?;
        let number = |s: &str, what: &str| {
            s.parse::<u64>()
                .map_err(|_| format!("invalid partition {spec:?}: {what} {s:?} is not a number"))
        };
        let (shard, total) = (number(m, "shard")?, number(n, "shard count")?);
        if total == 0 {
            return Err(format!(
                "invalid partition {spec:?}: the shard count must be at least 1"
            ));
        }
        if shard == 0 || shard > total {
            return Err(format!(
                "invalid partition {spec:?}: shard {shard} is not between 1 and {total}"
            ));
        }
        Ok(Partition { kind, shard, total })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            PartitionKind::Count => "count",
            PartitionKind::Hash => "hash",
        };
        write!(f, "{kind}:{}/{}", self.shard, self.total)
    }
}

impl Partition {
    /// Keeps the items of this shard, in their original order; `key` gives
    /// an item's import path.
    pub fn retain<T>(&self, items: Vec<T>, key: impl Fn(&T) -> &str) -> Vec<T> {
        let keep: Vec<bool> = match self.kind {
            PartitionKind::Hash => items
                .iter()
                .map(|item| fnv1a64(key(item).as_bytes()) % self.total == self.shard - 1)
                .collect(),
            PartitionKind::Count => {
                let mut order: Vec<usize> = (0..items.len()).collect();
                order.sort_by(|&a, &b| key(&items[a]).cmp(key(&items[b])));
                let mut keep = vec![false; items.len()];
                for (rank, &i) in order.iter().enumerate() {
                    keep[i] = rank as u64 % self.total == self.shard - 1;
                }
                keep
            }
        };
        items
            .into_iter()
            .zip(keep)
            .filter_map(|(item, keep)| keep.then_some(item))
            .collect()
    }
}

/// 64-bit FNV-1a.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packages() -> Vec<String> {
        // Deliberately not sorted.
        [
            "example.com/m/zeta",
            "example.com/m/alpha",
            "example.com/m/internal/queue",
            "example.com/m",
            "example.com/m/beta",
            "example.com/m/cmd/tool",
            "example.com/m/gamma",
        ]
        .map(String::from)
        .to_vec()
    }

    fn shard(spec: &str, items: &[String]) -> Vec<String> {
        spec.parse::<Partition>()
            .unwrap()
            .retain(items.to_vec(), |s| s.as_str())
    }

    #[test]
    fn parses_nextest_syntax() {
        assert_eq!(
            "count:2/3".parse(),
            Ok(Partition {
                kind: PartitionKind::Count,
                shard: 2,
                total: 3
            })
        );
        assert_eq!(
            "hash:1/1".parse(),
            Ok(Partition {
                kind: PartitionKind::Hash,
                shard: 1,
                total: 1
            })
        );
        assert_eq!(
            "hash:4/7".parse::<Partition>().unwrap().to_string(),
            "hash:4/7"
        );
    }

    #[test]
    fn refuses_bad_specs() {
        for (spec, needle) in [
            ("count:0/2", "shard 0 is not between 1 and 2"),
            ("count:3/2", "shard 3 is not between 1 and 2"),
            ("hash:1/0", "shard count must be at least 1"),
            ("slice:1/2", "unknown kind \"slice\""),
            ("count", "expected count:M/N"),
            ("count:1", "expected count:M/N"),
            ("count:a/2", "shard \"a\" is not a number"),
            ("count:1/-2", "shard count \"-2\" is not a number"),
            ("", "expected count:M/N"),
        ] {
            let err = spec.parse::<Partition>().unwrap_err();
            assert!(err.contains(needle), "{spec:?}: {err}");
        }
    }

    #[test]
    fn fnv1a64_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn count_deals_the_sorted_list_round_robin() {
        // Sorted: m, alpha, beta, cmd/tool, gamma, internal/queue, zeta.
        // Shard M takes ranks M-1, M-1+3, ...; kept in the input's order.
        let items = packages();
        assert_eq!(
            shard("count:1/3", &items),
            [
                "example.com/m/zeta",
                "example.com/m",
                "example.com/m/cmd/tool"
            ]
        );
        assert_eq!(
            shard("count:2/3", &items),
            ["example.com/m/alpha", "example.com/m/gamma"]
        );
        assert_eq!(
            shard("count:3/3", &items),
            ["example.com/m/internal/queue", "example.com/m/beta"]
        );
    }

    #[test]
    fn shards_are_disjoint_and_cover_everything() {
        let items = packages();
        for kind in ["count", "hash"] {
            for n in 1..=8 {
                let mut seen: Vec<String> = Vec::new();
                for m in 1..=n {
                    let part = shard(&format!("{kind}:{m}/{n}"), &items);
                    for p in part {
                        assert!(!seen.contains(&p), "{kind} {m}/{n}: {p} twice");
                        seen.push(p);
                    }
                }
                seen.sort();
                let mut all = items.clone();
                all.sort();
                assert_eq!(seen, all, "{kind} N={n}");
            }
        }
    }

    #[test]
    fn hash_shard_depends_only_on_the_import_path() {
        let items = packages();
        let fewer: Vec<String> = items[..3].to_vec();
        for m in 1..=3 {
            let spec = format!("hash:{m}/3");
            let all = shard(&spec, &items);
            let some = shard(&spec, &fewer);
            let expected: Vec<String> = fewer.iter().filter(|p| all.contains(p)).cloned().collect();
            assert_eq!(some, expected, "{spec}");
        }
        // Pinned (computed independently): the same path lands in the same
        // shard on every machine and with every leakcheck version.
        assert_eq!(
            shard("hash:1/3", &items),
            [
                "example.com/m/alpha",
                "example.com/m/internal/queue",
                "example.com/m/gamma"
            ]
        );
        assert_eq!(
            shard("hash:2/4", &items),
            [
                "example.com/m/zeta",
                "example.com/m/alpha",
                "example.com/m/beta"
            ]
        );
    }
}
