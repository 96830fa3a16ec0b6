//! `lbctl services`: every LoadBalancer Service with its addresses, pool,
//! announcing nodes and whether the routers have a route to it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::Serialize;

use crate::cluster;
use crate::facts::{AnnouncementFacts, ServiceFacts};
use crate::kube_client::Kube;
use crate::output::{Cell, Color, Format, Printer, Table};
use crate::router_api::{self, RouteView, RouterEndpoint, RouterReport};

/// `lbctl services` flags.
#[derive(Debug, clap::Args)]
pub struct ServicesArgs {
    /// Namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// All namespaces.
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
}

/// One row of `lbctl services`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRow {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Assigned addresses.
    pub ips: Vec<IpAddr>,
    /// The pool they came from.
    pub pool: Option<String>,
    /// Nodes announcing it.
    pub nodes: Vec<String>,
    /// `bgp`, `l2` or both.
    pub protocols: Vec<String>,
    /// Routers with an installed route to every address, of those asked.
    pub routers_seeing: Option<(usize, usize)>,
    /// `spec.loadBalancerClass`.
    pub class: Option<String>,
    /// Ports.
    pub ports: Vec<String>,
    /// `spec.externalTrafficPolicy`.
    pub external_traffic_policy: String,
}

/// Whether `routes` has an accepted, installed route covering `ip`.
pub fn route_installed(routes: &[RouteView], ip: IpAddr) -> bool {
    routes
        .iter()
        .any(|r| r.prefix.contains(&ip) && r.accepted && r.installed)
}

/// The rows for the LoadBalancer Services among `services`.
pub fn rows(
    services: &[ServiceFacts],
    announcements: &[AnnouncementFacts],
    routers: &[RouterReport],
) -> Vec<ServiceRow> {
    services
        .iter()
        .filter(|s| s.is_load_balancer())
        .map(|s| {
            let key = s.key();
            let mine: Vec<&AnnouncementFacts> =
                announcements.iter().filter(|a| a.service == key).collect();
            let nodes: BTreeSet<String> = mine.iter().map(|a| a.node.clone()).collect();
            let protocols: BTreeSet<String> = mine.iter().map(|a| a.protocol.clone()).collect();
            // Routers carry BGP-announced addresses only.
            let routed = protocols.contains("bgp") || !protocols.contains("l2");
            let routers_seeing =
                (routed && !routers.is_empty() && !s.ingress.is_empty()).then(|| {
                    let seeing = routers
                        .iter()
                        .filter(|r| {
                            r.routes.as_ref().is_ok_and(|routes| {
                                s.ingress.iter().all(|ip| route_installed(routes, *ip))
                            })
                        })
                        .count();
                    (seeing, routers.len())
                });
            ServiceRow {
                namespace: s.namespace.clone(),
                name: s.name.clone(),
                ips: s.ingress.clone(),
                pool: s.allocated_pool(),
                nodes: nodes.into_iter().collect(),
                protocols: protocols.into_iter().collect(),
                routers_seeing,
                class: s.class.clone(),
                ports: s.ports.clone(),
                external_traffic_policy: s.external_traffic_policy.clone(),
            }
        })
        .collect()
}

fn list_or_dash(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(",")
    }
}

/// The `lbctl services` table.
pub fn table(rows: &[ServiceRow]) -> Table {
    let mut t = Table::new(&[
        "NAMESPACE",
        "NAME",
        "IPS",
        "POOL",
        "NODES",
        "PROTOCOL",
        "ROUTERS",
    ])
    .wide(&["CLASS", "PORTS", "TRAFFIC-POLICY"]);
    for r in rows {
        let ips = if r.ips.is_empty() {
            Cell::colored("<pending>", Color::Yellow)
        } else {
            Cell::plain(list_or_dash(r.ips.iter().map(IpAddr::to_string)))
        };
        let routers = match r.routers_seeing {
            None => Cell::plain("-"),
            Some((n, total)) if n == total => Cell::colored(format!("{n}/{total}"), Color::Green),
            Some((n, total)) => Cell::colored(format!("{n}/{total}"), Color::Red),
        };
        t.row(vec![
            r.namespace.clone().into(),
            r.name.clone().into(),
            ips,
            r.pool.clone().unwrap_or_else(|| "-".to_owned()).into(),
            list_or_dash(r.nodes.clone()).into(),
            list_or_dash(r.protocols.clone()).into(),
            routers,
            r.class.clone().unwrap_or_else(|| "-".to_owned()).into(),
            list_or_dash(r.ports.clone()).into(),
            r.external_traffic_policy.clone().into(),
        ]);
    }
    t
}

/// Runs `lbctl services`.
pub async fn run(
    kube: &Kube,
    printer: &Printer,
    args: &ServicesArgs,
    routers: &[RouterEndpoint],
) -> anyhow::Result<()> {
    let namespace = match (&args.namespace, args.all_namespaces) {
        (_, true) => None,
        (Some(ns), false) => Some(ns.clone()),
        (None, false) => Some(kube.default_namespace.clone()),
    };
    let services = cluster::services(kube, namespace.as_deref()).await?;
    let announcements: Vec<AnnouncementFacts> = cluster::announcements(kube)
        .await?
        .iter()
        .map(AnnouncementFacts::from_object)
        .collect();
    let mut reports = Vec::new();
    for r in routers {
        reports.push(router_api::report(r).await);
    }
    let rows = rows(&services, &announcements, &reports);
    if rows.is_empty() && matches!(printer.format, Format::Table | Format::Wide) {
        match &namespace {
            Some(ns) => println!("No LoadBalancer Services in namespace {ns}."),
            None => println!("No LoadBalancer Services."),
        }
        return Ok(());
    }
    for r in &reports {
        if let Err(e) = &r.routes {
            eprintln!("warning: {e}");
        }
    }
    printer.print(&rows, || table(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str, accepted: bool, installed: bool) -> RouteView {
        RouteView {
            prefix: prefix.parse().unwrap(),
            next_hops: vec!["10.0.0.11".parse().unwrap()],
            accepted,
            reject_reason: None,
            installed,
            installed_next_hops: vec![],
            unusable_next_hops: vec![],
            nexthop_group: None,
        }
    }

    fn report(name: &str, routes: Result<Vec<RouteView>, String>) -> RouterReport {
        RouterReport {
            name: name.into(),
            peers: Ok(vec![]),
            routes,
            fib: Ok(vec![]),
        }
    }

    #[test]
    fn rows_join_announcements_and_routes() {
        let svc = |name: &str, type_: &str, ips: &[&str]| ServiceFacts {
            namespace: "web".into(),
            name: name.into(),
            type_: type_.into(),
            ingress: ips.iter().map(|i| i.parse().unwrap()).collect(),
            annotations: [(
                "ferrolb.io/ip-allocated-from-pool".to_owned(),
                "public".to_owned(),
            )]
            .into(),
            external_traffic_policy: "Cluster".into(),
            ..ServiceFacts::default()
        };
        let services = [
            svc("front", "LoadBalancer", &["192.0.2.10"]),
            svc("pending", "LoadBalancer", &[]),
            svc("internal", "ClusterIP", &[]),
        ];
        let ann = |node: &str| AnnouncementFacts {
            node: node.into(),
            service: "web/front".into(),
            protocol: "bgp".into(),
            ..AnnouncementFacts::default()
        };
        let announcements = [ann("node-b"), ann("node-a")];
        let routers = [
            report("r1", Ok(vec![route("192.0.2.10/32", true, true)])),
            report("r2", Ok(vec![route("192.0.2.10/32", true, false)])),
            report("r3", Err("down".into())),
        ];
        let rows = rows(&services, &announcements, &routers);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].nodes, vec!["node-a", "node-b"]);
        assert_eq!(rows[0].routers_seeing, Some((1, 3)));
        assert_eq!(rows[1].routers_seeing, None);
        let text = table(&rows).render(false, false);
        assert_eq!(
            text,
            "NAMESPACE   NAME      IPS          POOL     NODES           PROTOCOL   ROUTERS\n\
             web         front     192.0.2.10   public   node-a,node-b   bgp        1/3\n\
             web         pending   <pending>    public   -               -          -\n"
        );
    }
}
