//! Memory a leaked goroutine group keeps alive (`--check heap`): a run's
//! heap growth linked to the goroutines the run left running, when its
//! allocation site says it is theirs. Pure.
//!
//! A heap entry of a run (an allocation site whose live bytes grew, see
//! [`super::heap::growth_sites`]) belongs to a leak group of the same run
//! when it was allocated
//! - by one of the goroutines' own frames (its function is on the group's
//!   stack): the goroutine allocated it and is still blocked there; or
//! - before the `go` statement, in the function that ran it (the creation
//!   site's function and file, at or above its line), or in a creator up
//!   the creation chain (`--chains`) at or above its call: a buffer the
//!   goroutine's closure or arguments took along.
//!
//! The entry then moves from the test's resources to the group's
//! `keeps_alive`. It says where the bytes still alive were allocated,
//! which is what a heap profile measures; it does not prove that the
//! goroutines are what reaches them. Growth allocated elsewhere (a cache
//! the test fills) stays a heap entry of its own.

use serde::{Deserialize, Serialize};

use super::{Resource, ResourceKind};
use crate::detect::compare::{Leak, Location};
use crate::detect::stack::Snapshot;

/// Live bytes a leak group keeps, and where they were allocated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptAlive {
    pub bytes: u64,
    pub site: Location,
}

/// Moves each heap entry of `resources` that belongs to one of `leaks`
/// (see the module doc) to that group's `keeps_alive`; the first group
/// that claims an entry gets it.
pub fn link_heap(leaks: &mut [Leak], resources: &mut Vec<Resource>) {
    if leaks.is_empty() {
        return;
    }
    resources.retain(|r| {
        let (ResourceKind::Heap, Some(site), Some(bytes)) = (r.kind, &r.site, r.bytes) else {
            return true;
        };
        match leaks.iter_mut().find(|l| allocated_for(l, site)) {
            Some(l) => {
                l.keeps_alive.push(KeptAlive {
                    bytes,
                    site: site.clone(),
                });
                false
            }
            None => true,
        }
    });
}

/// Whether `site` allocated for the goroutines of `l`.
fn allocated_for(l: &Leak, site: &Location) -> bool {
    let on_stack = Snapshot::parse(&l.stack)
        .goroutines
        .first()
        .is_some_and(|g| g.frames.iter().any(|f| f.function == site.function));
    let before = |at: &Location| {
        at.function == site.function && at.file == site.file && site.line <= at.line
    };
    on_stack
        || l.created_by.as_ref().is_some_and(before)
        || l.chain.iter().any(|c| before(&c.location()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::compare::ChainFrame;

    fn heap_at(function: &str, file: &str, line: u32, bytes: u64) -> Resource {
        Resource {
            kind: ResourceKind::Heap,
            description: "more live heap allocated here".into(),
            count: 1,
            bytes: Some(bytes),
            site: Some(Location {
                function: function.into(),
                file: file.into(),
                line,
            }),
            ambiguous_with: vec![],
            known: false,
        }
    }

    #[test]
    fn a_buffer_allocated_before_the_go_statement_is_kept_by_its_goroutines() {
        // Leak::example: blocked in p.F.func1 (p.go:10), created at p.go:9
        // by p.F.
        let mut leaks = vec![Leak::example()];
        let mut resources = vec![
            heap_at("example.com/p.F", "/m/p/p.go", 8, 10 << 20),
            // After the go statement: the creator's, not the goroutine's.
            heap_at("example.com/p.F", "/m/p/p.go", 12, 2 << 20),
            // Elsewhere: a cache of the test's.
            heap_at("example.com/p.remember", "/m/p/cache.go", 4, 3 << 20),
        ];
        link_heap(&mut leaks, &mut resources);
        assert_eq!(
            leaks[0].keeps_alive,
            [KeptAlive {
                bytes: 10 << 20,
                site: Location {
                    function: "example.com/p.F".into(),
                    file: "/m/p/p.go".into(),
                    line: 8
                }
            }]
        );
        let left: Vec<u32> = resources
            .iter()
            .map(|r| r.site.as_ref().unwrap().line)
            .collect();
        assert_eq!(left, [12, 4]);
    }

    #[test]
    fn what_the_goroutine_allocated_itself_or_a_creator_up_the_chain_is_kept() {
        let mut l = Leak::example();
        l.chain = vec![ChainFrame {
            function: "example.com/p.TestT".into(),
            file: "/m/p/p_test.go".into(),
            line: 20,
            goroutine: 6,
        }];
        let mut leaks = vec![l];
        let mut resources = vec![
            heap_at("example.com/p.F.func1", "/m/p/p.go", 11, 1 << 20),
            heap_at("example.com/p.TestT", "/m/p/p_test.go", 19, 4 << 20),
            heap_at("example.com/p.TestT", "/m/p/p_test.go", 21, 4 << 20),
        ];
        link_heap(&mut leaks, &mut resources);
        let kept: Vec<u32> = leaks[0].keeps_alive.iter().map(|k| k.site.line).collect();
        assert_eq!(kept, [11, 19]);
        assert_eq!(resources.len(), 1);
        // No leak group: every entry stays.
        let mut resources = vec![heap_at("example.com/p.F", "/m/p/p.go", 8, 1 << 20)];
        link_heap(&mut [], &mut resources);
        assert_eq!(resources.len(), 1);
    }
}
