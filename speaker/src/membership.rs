//! The speakers' liveness group (SWIM, from `ferrolb-membership`) feeding
//! the L2 owner choice.
//!
//! Kubernetes Node state is the slow source of truth (which nodes should
//! have a speaker); the group is the fast one (which speakers answer right
//! now). A speaker that cannot see a majority of the expected members
//! reports nobody alive, so it owns no L2 address: on the minority side of
//! a partition it stops answering while the majority moves the addresses.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ferrolb_membership::{MemberView, Membership};
use k8s_openapi::api::core::v1::Node;
use kube::ResourceExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::cluster::snapshot::{internal_ips, node_info};
use crate::cluster::Stores;

/// How often the expected members are re-read from the Node cache.
const EXPECTED_REFRESH: Duration = Duration::from_secs(1);

/// The alive set the decision uses: the members seen alive, or nobody
/// without quorum.
pub fn alive_speakers(view: &MemberView) -> Option<BTreeSet<String>> {
    Some(if view.has_quorum {
        view.alive.clone()
    } else {
        BTreeSet::new()
    })
}

/// The members Kubernetes expects: every Ready Node with an InternalIP
/// (IPv4 preferred), reached on `port`.
pub fn expected_members(nodes: &[Arc<Node>], port: u16) -> BTreeMap<String, SocketAddr> {
    nodes
        .iter()
        .filter(|n| node_info(n).ready)
        .filter_map(|n| {
            let ips = internal_ips(n);
            let ip = ips
                .iter()
                .find(|ip| ip.is_ipv4())
                .or_else(|| ips.first())
                .copied()?;
            Some((n.name_any(), SocketAddr::new(ip, port)))
        })
        .collect()
}

/// Keeps the group's expected members in step with the Nodes and
/// publishes the alive set, until `stop`; then leaves the group so the
/// others take over this node's addresses at once.
pub async fn run(
    membership: Membership,
    stores: Stores,
    port: u16,
    alive: watch::Sender<Option<BTreeSet<String>>>,
    stop: CancellationToken,
) {
    let mut view = membership.view();
    let mut refresh = tokio::time::interval(EXPECTED_REFRESH);
    let mut expected = BTreeMap::new();
    loop {
        tokio::select! {
            changed = view.changed() => {
                if changed.is_err() {
                    break;
                }
                let current = view.borrow_and_update().clone();
                tracing::debug!(alive = ?current.alive, suspect = ?current.suspect, quorum = current.has_quorum, "membership changed");
                // A suspicion alone changes nothing the decision uses.
                let now = alive_speakers(&current);
                alive.send_if_modified(|before| {
                    let changed = *before != now;
                    *before = now;
                    changed
                });
            }
            _ = refresh.tick() => {
                let now = expected_members(&stores.nodes(), port);
                if now != expected {
                    membership.set_expected(now.clone());
                    expected = now;
                }
            }
            () = stop.cancelled() => break,
        }
    }
    membership.leave().await;
}

/// This node's membership address: its InternalIP (IPv4 preferred).
pub fn node_address(node: &Node) -> Option<IpAddr> {
    let ips = internal_ips(node);
    ips.iter()
        .find(|ip| ip.is_ipv4())
        .or_else(|| ips.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, ready: &str, ips: &[&str]) -> Arc<Node> {
        let addresses: Vec<_> = ips
            .iter()
            .map(|ip| json!({"type": "InternalIP", "address": ip}))
            .collect();
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name},
                "status": {"conditions": [{"type": "Ready", "status": ready}], "addresses": addresses},
            }))
            .unwrap(),
        )
    }

    #[test]
    fn expected_members_are_ready_nodes_with_an_address() {
        let nodes = [
            node("a", "True", &["fd00::1", "10.0.0.1"]),
            node("b", "False", &["10.0.0.2"]),
            node("c", "True", &[]),
            node("d", "True", &["fd00::4"]),
        ];
        let expected = expected_members(&nodes, 7946);
        let want: BTreeMap<String, SocketAddr> = [
            ("a".to_owned(), "10.0.0.1:7946".parse().unwrap()),
            ("d".to_owned(), "[fd00::4]:7946".parse().unwrap()),
        ]
        .into();
        assert_eq!(expected, want);
    }

    #[test]
    fn without_quorum_nobody_is_alive() {
        let with = MemberView::new("a", ["b"], ["a", "b", "c"]);
        assert_eq!(
            alive_speakers(&with),
            Some(["a".to_owned(), "b".to_owned()].into())
        );
        let without = MemberView::new("a", [], ["a", "b", "c"]);
        assert_eq!(alive_speakers(&without), Some(BTreeSet::new()));
    }
}
