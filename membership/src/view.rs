//! What the speaker acts on: who is alive, and whether this node may answer for L2 IPs.

use std::collections::BTreeSet;

/// A snapshot of the group as this speaker sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberView {
    /// Node names of the members SWIM considers alive (or suspect, not yet down), this node
    /// included.
    pub alive: BTreeSet<String>,
    /// The members of `alive` that SWIM suspects (a probe went unanswered; not yet down).
    pub suspect: BTreeSet<String>,
    /// Whether more than half of the expected members are in `alive` and not suspect.
    /// Without quorum the speaker must stop answering for L2 IPs: it may be on the minority
    /// side of a partition, where the majority has already moved its IPs elsewhere. Suspects
    /// do not count, so that a cut-off member stops answering as soon as it suspects the
    /// majority, a whole suspicion timeout before the majority declares it down and takes its
    /// IPs over.
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
        MemberView::with_suspects(this_node, active.into_iter().map(|m| (m, false)), expected)
    }

    /// As [`MemberView::new`], with each active member marked suspect or not.
    pub fn with_suspects<'a>(
        this_node: &'a str,
        active: impl IntoIterator<Item = (&'a str, bool)>,
        expected: impl IntoIterator<Item = &'a str>,
    ) -> MemberView {
        let mut alive = BTreeSet::from([this_node.to_owned()]);
        let mut suspect = BTreeSet::new();
        for (member, suspected) in active {
            alive.insert(member.to_owned());
            if suspected && member != this_node {
                suspect.insert(member.to_owned());
            }
        }
        let expected: BTreeSet<&str> = expected.into_iter().collect();
        let trusted = expected
            .iter()
            .filter(|n| alive.contains(**n) && !suspect.contains(**n))
            .count();
        MemberView {
            has_quorum: trusted * 2 > expected.len(),
            expected: expected.len(),
            alive,
            suspect,
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
    fn suspects_stay_alive_but_do_not_make_a_quorum() {
        // (other members with suspicion, expected, has quorum); this node is "a".
        type Members = &'static [(&'static str, bool)];
        let cases: &[(Members, &[&str], bool)] = &[
            (&[("b", false), ("c", true)], &["a", "b", "c"], true),
            (&[("b", true), ("c", true)], &["a", "b", "c"], false),
            (&[("b", true), ("c", false)], &["a", "b", "c"], true),
            (
                &[("b", false), ("c", true), ("d", true)],
                &["a", "b", "c", "d", "e"],
                false,
            ),
            (
                &[("b", false), ("c", false), ("d", true)],
                &["a", "b", "c", "d", "e"],
                true,
            ),
            // This node never suspects itself.
            (&[("a", true)], &["a"], true),
        ];
        for &(active, expected, quorum) in cases {
            let view =
                MemberView::with_suspects("a", active.iter().copied(), expected.iter().copied());
            assert_eq!(
                view.has_quorum, quorum,
                "active {active:?}, expected {expected:?}"
            );
            let others: BTreeSet<&str> = active.iter().map(|(m, _)| *m).chain(["a"]).collect();
            assert_eq!(view.alive.len(), others.len(), "suspects are still alive");
            assert!(!view.suspect.contains("a"));
        }
    }

    #[test]
    fn duplicate_names_count_once() {
        let view = MemberView::new("a", ["b", "b", "a"], ["a", "b", "c", "d"]);
        assert_eq!(view.alive.len(), 2);
        assert!(!view.has_quorum);
    }
}
