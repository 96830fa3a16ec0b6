//! What the speaker acts on: who is alive, and whether this node may answer for L2 IPs.

use std::collections::BTreeSet;

/// A snapshot of the group as this speaker sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberView {
    /// Node names of the members SWIM considers alive (or suspect, not yet down), this node
    /// included.
    pub alive: BTreeSet<String>,
    /// Whether more than half of the expected members are in `alive`. Without quorum the
    /// speaker must stop answering for L2 IPs: it may be on the minority side of a partition,
    /// where the majority has already moved its IPs elsewhere.
    pub has_quorum: bool,
    /// How many members Kubernetes says there should be (the quorum's denominator).
    pub expected: usize,
}

impl MemberView {
    /// Builds the view from this node's name, the other active members, and the expected
    /// members' names. Members alive but not expected (e.g. a node Kubernetes no longer lists as
    /// Ready) are reported alive but do not count towards quorum; with nothing expected yet
    /// there is no quorum.
    pub fn new<'a>(
        this_node: &'a str,
        active: impl IntoIterator<Item = &'a str>,
        expected: impl IntoIterator<Item = &'a str>,
    ) -> MemberView {
        let alive: BTreeSet<String> = std::iter::once(this_node)
            .chain(active)
            .map(str::to_owned)
            .collect();
        let expected: BTreeSet<&str> = expected.into_iter().collect();
        let alive_and_expected = expected.iter().filter(|n| alive.contains(**n)).count();
        MemberView {
            has_quorum: alive_and_expected * 2 > expected.len(),
            expected: expected.len(),
            alive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_needs_a_strict_majority_of_the_expected_members() {
        let cases: &[(&[&str], &[&str], bool)] = &[
            // (other active members, expected, has quorum); this node is "a".
            (&[], &[], false),
            (&[], &["a"], true),
            (&["b"], &["a", "b"], true),
            (&[], &["a", "b"], false),
            (&["b"], &["a", "b", "c"], true),
            (&[], &["a", "b", "c"], false),
            (&["b"], &["a", "b", "c", "d"], false),
            (&["b", "c"], &["a", "b", "c", "d"], true),
            (&["b", "c"], &["a", "b", "c", "d", "e"], true),
            (&["b"], &["a", "b", "c", "d", "e"], false),
            // Unexpected members are alive but do not make a majority.
            (&["x", "y", "z"], &["a", "b", "c"], false),
            // A node Kubernetes does not list yet still counts the expected ones it sees.
            (&["b", "c"], &["b", "c", "d"], true),
        ];
        for &(active, expected, quorum) in cases {
            let view = MemberView::new("a", active.iter().copied(), expected.iter().copied());
            assert_eq!(
                view.has_quorum, quorum,
                "active {active:?}, expected {expected:?}"
            );
            assert_eq!(view.expected, expected.len());
            assert!(view.alive.contains("a"));
            assert_eq!(view.alive.len(), active.len() + 1);
        }
    }

    #[test]
    fn duplicate_names_count_once() {
        let view = MemberView::new("a", ["b", "b", "a"], ["a", "b", "c", "d"]);
        assert_eq!(view.alive.len(), 2);
        assert!(!view.has_quorum);
    }
}
