//! Upstream re-announcement (`upstream:`): the router tells its upstream routers (eBGP) about
//! the Service addresses it forwards, with itself as next hop, so the rest of the network
//! reaches the VIPs through it.
//!
//! - `announce: learned` (the default): every route the speakers announce that import safety
//!   accepts, as learned. The neighbour's export prefix list is import safety itself (inside a
//!   service pool and no shorter than it, or an allowed prefix), so a refused announcement
//!   never leaves the router.
//! - `announce: aggregates`: only the configured aggregates, each originated by the router
//!   while at least one accepted Service route lies inside it, and withdrawn with the last.
//!
//! Nothing an upstream router sends is accepted: the router forwards Service traffic to the
//! cluster and must not be steered by routes from outside it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use anyhow::Context;
use ferrolb_api::router_config::{AnnounceMode, ImportConfig, UpstreamNeighbor};
use ferrolb_api::RouterConfig;
use ferrolb_bgp::attribute::{Origin, PathAttributes};
use ferrolb_bgp::instance::{Instance, LatestChanges, NeighborConfig};
use ferrolb_bgp::rib::{
    ExportPolicy, ImportPolicy as BgpImportPolicy, NextHopPolicy, PrefixAction, PrefixList,
    PrefixListEntry,
};
use ferrolb_bgp::session::PeerConfig;
use ipnet::IpNet;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bgp::{read_password, set_timers};
use crate::import::ImportPolicy;
use crate::routes::{learned, RouteTable};

/// TCP MD5 passwords of the upstream neighbours, by address.
pub type UpstreamPasswords = BTreeMap<IpAddr, String>;

/// Reads the upstream neighbours' passwords (`password` or `passwordFile`).
pub fn read_passwords(config: &RouterConfig) -> anyhow::Result<UpstreamPasswords> {
    let mut passwords = UpstreamPasswords::new();
    for u in &config.upstream {
        let password = read_password(u.password.as_ref(), u.password_file.as_deref())
            .with_context(|| format!("upstream {}: cannot read passwordFile", u.address))?;
        if let Some(p) = password {
            passwords.insert(u.address, p);
        }
    }
    Ok(passwords)
}

/// What may be announced to `upstream`: import safety's prefixes (`learned`) or exactly the
/// aggregates (`aggregates`); nothing else.
pub fn export_list(import: &ImportConfig, upstream: &UpstreamNeighbor) -> PrefixList {
    let permit =
        |prefix: IpNet, ge, le| PrefixListEntry::range(prefix, ge, le, PrefixAction::Permit);
    let entries: Vec<PrefixListEntry> = match upstream.announce {
        AnnounceMode::Learned => import
            .service_pools
            .iter()
            .map(|pool| permit(pool.trunc(), None, Some(pool.max_prefix_len())))
            .chain(
                import
                    .allowed_prefixes
                    .iter()
                    .map(|a| permit(a.prefix.trunc(), a.ge, a.le)),
            )
            .collect(),
        AnnounceMode::Aggregates => upstream
            .aggregates
            .iter()
            .map(|a| PrefixListEntry::exact(a.trunc(), PrefixAction::Permit))
            .collect(),
    };
    prefix_list(entries)
}

/// A deny-by-default list of `entries`. The validator checks every range; an entry it let
/// through that the list still refuses is left out rather than widening the list.
fn prefix_list(entries: Vec<PrefixListEntry>) -> PrefixList {
    let valid: Vec<PrefixListEntry> = entries
        .into_iter()
        .filter(|e| PrefixList::new(vec![*e], PrefixAction::Deny).is_ok())
        .collect();
    PrefixList::new(valid, PrefixAction::Deny).expect("every entry was checked on its own")
}

/// The BGP neighbour for `upstream`: eBGP, next hop self, importing nothing.
pub fn neighbor_config(
    config: &RouterConfig,
    upstream: &UpstreamNeighbor,
    password: Option<&str>,
) -> NeighborConfig {
    let mut peer = PeerConfig::new(upstream.address, config.asn, upstream.asn, config.router_id);
    set_timers(&mut peer, upstream.hold_time, upstream.keepalive_time);
    peer.md5_password = password.map(str::to_owned);
    NeighborConfig {
        peer,
        import: BgpImportPolicy {
            prefix_list: Some(prefix_list(Vec::new())),
            ..BgpImportPolicy::default()
        },
        export: export_policy(&config.import, upstream),
        graceful_restart_helper: false,
    }
}

/// What `upstream` is sent: next hop self, and only what [`export_list`] permits.
pub fn export_policy(import: &ImportConfig, upstream: &UpstreamNeighbor) -> ExportPolicy {
    ExportPolicy {
        next_hop: NextHopPolicy::SelfAddress,
        prefix_list: Some(export_list(import, upstream)),
        ..ExportPolicy::default()
    }
}

/// Every aggregate of the `aggregates` upstream neighbours.
pub fn aggregates(config: &RouterConfig) -> BTreeSet<IpNet> {
    config
        .upstream
        .iter()
        .filter(|u| u.announce == AnnounceMode::Aggregates)
        .flat_map(|u| u.aggregates.iter().map(IpNet::trunc))
        .collect()
}

/// The aggregates holding at least one of the `accepted` prefixes.
pub fn active_aggregates<'a>(
    aggregates: &BTreeSet<IpNet>,
    accepted: impl IntoIterator<Item = &'a IpNet>,
) -> BTreeSet<IpNet> {
    let mut active = BTreeSet::new();
    for prefix in accepted {
        active.extend(aggregates.iter().filter(|a| a.contains(prefix)).copied());
        if active.len() == aggregates.len() {
            break;
        }
    }
    active
}

/// Originates the active aggregates, following the Loc-RIB, the import policy in force and
/// the configured aggregates.
pub struct AggregateTask {
    aggregates: watch::Sender<BTreeSet<IpNet>>,
    task: JoinHandle<()>,
}

impl AggregateTask {
    /// Starts following `bgp`'s Loc-RIB under `policy`.
    pub async fn spawn(
        bgp: Instance,
        policy: watch::Receiver<ImportPolicy>,
        aggregates: BTreeSet<IpNet>,
    ) -> anyhow::Result<AggregateTask> {
        let rib = bgp.subscribe_latest().await?;
        let (tx, rx) = watch::channel(aggregates);
        Ok(AggregateTask {
            aggregates: tx,
            task: tokio::spawn(originate_aggregates(bgp, rib, policy, rx)),
        })
    }

    /// New aggregates (after a reload).
    pub fn set(&self, aggregates: BTreeSet<IpNet>) {
        self.aggregates.send_replace(aggregates);
    }

    /// Stops the task (the routes go with the BGP instance).
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn originate_aggregates(
    bgp: Instance,
    mut rib: LatestChanges,
    mut policy: watch::Receiver<ImportPolicy>,
    mut aggregates: watch::Receiver<BTreeSet<IpNet>>,
) {
    let mut table = RouteTable::default();
    let mut current_policy = policy.borrow_and_update().clone();
    let mut announced = BTreeSet::new();
    loop {
        tokio::select! {
            batch = rib.recv() => {
                let Some(batch) = batch else { return };
                table.apply(batch.iter().map(learned), &current_policy);
            }
            changed = policy.changed() => {
                if changed.is_err() {
                    return;
                }
                current_policy = policy.borrow_and_update().clone();
                table.set_policy(&current_policy);
            }
            changed = aggregates.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
        let configured = aggregates.borrow_and_update().clone();
        let active = active_aggregates(&configured, table.accepted().map(|(p, _)| p));
        let gone: Vec<IpNet> = announced.difference(&active).copied().collect();
        let new: Vec<IpNet> = active.difference(&announced).copied().collect();
        if !gone.is_empty() {
            tracing::info!(aggregates = ?gone, "withdrawing aggregates: no accepted route inside");
            if bgp.withdraw(gone).await.is_err() {
                return;
            }
        }
        if !new.is_empty() {
            tracing::info!(aggregates = ?new, "announcing aggregates upstream");
            let attributes = PathAttributes {
                origin: Some(Origin::Igp),
                ..PathAttributes::default()
            };
            if bgp.announce(new, attributes, None).await.is_err() {
                return;
            }
        }
        announced = active;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> RouterConfig {
        RouterConfig::from_yaml_str(&format!(
            "routerId: 192.0.2.1\nasn: 64512\n\
             import:\n  servicePools: [10.96.0.0/24, 2001:db8:96::/112]\n  \
             allowedPrefixes: [{{prefix: 192.0.2.0/24, le: 28}}]\n{extra}"
        ))
        .unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn learned_mode_exports_what_import_safety_accepts() {
        let c = config("upstream: [{address: 203.0.113.1, asn: 65000}]\n");
        let list = export_list(&c.import, &c.upstream[0]);
        let cases = [
            ("10.96.0.10/32", true),
            ("10.96.0.0/24", true),
            ("10.96.0.0/23", false),
            ("10.97.0.1/32", false),
            ("0.0.0.0/0", false),
            ("2001:db8:96::10/128", true),
            ("192.0.2.16/28", true),
            ("192.0.2.16/29", false),
            ("8.8.8.0/24", false),
        ];
        for (prefix, permitted) in cases {
            assert_eq!(list.permits(&net(prefix)), permitted, "{prefix}");
        }
    }

    #[test]
    fn aggregates_mode_exports_exactly_the_aggregates() {
        let c = config(
            "upstream: [{address: 203.0.113.1, asn: 65000, announce: aggregates, aggregates: [10.96.0.0/24]}]\n",
        );
        let list = export_list(&c.import, &c.upstream[0]);
        assert!(list.permits(&net("10.96.0.0/24")));
        assert!(!list.permits(&net("10.96.0.10/32")));
        assert_eq!(aggregates(&c), [net("10.96.0.0/24")].into_iter().collect());
    }

    #[test]
    fn neighbours_are_ebgp_with_next_hop_self_and_import_nothing() {
        let c =
            config("upstream: [{address: 203.0.113.1, asn: 65000, holdTime: 30s, password: pw}]\n");
        let n = neighbor_config(&c, &c.upstream[0], Some("pw"));
        assert_eq!(n.peer.address, net("203.0.113.1/32").addr());
        assert_eq!(
            n.peer.session.peer_asn,
            ferrolb_bgp::session::PeerAsn::Exact(65000)
        );
        assert_eq!(n.peer.session.hold_time, 30);
        assert_eq!(n.peer.md5_password.as_deref(), Some("pw"));
        assert_eq!(n.export.next_hop, NextHopPolicy::SelfAddress);
        let import = n.import.prefix_list.as_ref().unwrap();
        assert!(!import.permits(&net("10.96.0.10/32")));
        assert!(!import.permits(&net("0.0.0.0/0")));
        assert!(!n.graceful_restart_helper);
    }

    #[test]
    fn an_aggregate_is_active_while_an_accepted_route_lies_inside() {
        let aggregates: BTreeSet<IpNet> = [net("10.96.0.0/24"), net("10.96.1.0/24")]
            .into_iter()
            .collect();
        let cases: [(&[&str], &[&str]); 4] = [
            (&[], &[]),
            (&["10.96.0.10/32"], &["10.96.0.0/24"]),
            (
                &["10.96.0.10/32", "10.96.1.7/32", "10.96.0.11/32"],
                &["10.96.0.0/24", "10.96.1.0/24"],
            ),
            (&["10.97.0.1/32"], &[]),
        ];
        for (accepted, want) in cases {
            let accepted: Vec<IpNet> = accepted.iter().map(|p| net(p)).collect();
            let want: BTreeSet<IpNet> = want.iter().map(|p| net(p)).collect();
            assert_eq!(
                active_aggregates(&aggregates, &accepted),
                want,
                "{accepted:?}"
            );
        }
    }
}
