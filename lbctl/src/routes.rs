//! `lbctl routes --router URL`: the routes a router learned from the
//! speakers, their next hops and whether they are in the kernel.

use anyhow::bail;
use serde::Serialize;

use crate::output::{Cell, Color, Printer, Table};
use crate::router_api::{self, RouteView, RouterEndpoint, RoutesResponse};
use crate::Failure;

/// One router's routes.
#[derive(Debug, Clone, Serialize)]
pub struct RouterRoutes {
    /// The router.
    pub router: String,
    /// Its routes.
    pub routes: Vec<RouteView>,
}

fn ips(list: &[std::net::IpAddr]) -> String {
    if list.is_empty() {
        "-".to_owned()
    } else {
        list.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The `lbctl routes` table.
pub fn table(routers: &[RouterRoutes]) -> Table {
    let mut t = Table::new(&["ROUTER", "PREFIX", "NEXT-HOPS", "ACCEPTED", "INSTALLED"]).wide(&[
        "INSTALLED-VIA",
        "UNUSABLE",
        "NHID",
    ]);
    for r in routers {
        for route in &r.routes {
            let accepted = match (&route.accepted, &route.reject_reason) {
                (true, _) => Cell::colored("yes", Color::Green),
                (false, Some(why)) => Cell::colored(format!("no: {why}"), Color::Red),
                (false, None) => Cell::colored("no", Color::Red),
            };
            let installed = if route.installed {
                Cell::colored("yes", Color::Green)
            } else {
                Cell::colored("no", Color::Red)
            };
            let unusable: Vec<String> = route
                .unusable_next_hops
                .iter()
                .map(|u| format!("{} ({})", u.address, u.reason))
                .collect();
            t.row(vec![
                r.router.clone().into(),
                route.prefix.to_string().into(),
                ips(&route.next_hops).into(),
                accepted,
                installed,
                ips(&route.installed_next_hops).into(),
                if unusable.is_empty() {
                    "-".to_owned()
                } else {
                    unusable.join(",")
                }
                .into(),
                route
                    .nexthop_group
                    .map_or("-".to_owned(), |n| n.to_string())
                    .into(),
            ]);
        }
    }
    t
}

/// Runs `lbctl routes`.
pub async fn run(printer: &Printer, routers: &[RouterEndpoint]) -> anyhow::Result<()> {
    if routers.is_empty() {
        bail!(Failure(
            "no router given: pass --router http://ROUTER:PORT (its admin.listen address) or list routers in ~/.config/lbctl/config.yaml".into()
        ));
    }
    let mut all = Vec::new();
    for r in routers {
        let response: RoutesResponse = router_api::get(r, "/api/v1/routes").await?;
        all.push(RouterRoutes {
            router: r.name.clone(),
            routes: response.routes,
        });
    }
    if all.iter().all(|r| r.routes.is_empty()) && printer.format == crate::output::Format::Table {
        println!("No routes learned.");
        return Ok(());
    }
    printer.print(&all, || table(&all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router_api::UnusableNextHop;

    #[test]
    fn routes_table() {
        let routes = vec![
            RouteView {
                prefix: "192.0.2.10/32".parse().unwrap(),
                next_hops: vec!["10.0.0.11".parse().unwrap(), "10.0.0.12".parse().unwrap()],
                accepted: true,
                reject_reason: None,
                installed: true,
                installed_next_hops: vec!["10.0.0.11".parse().unwrap()],
                unusable_next_hops: vec![UnusableNextHop {
                    address: "10.0.0.12".parse().unwrap(),
                    reason: "via-gateway".into(),
                }],
                nexthop_group: Some(7),
            },
            RouteView {
                prefix: "203.0.113.0/24".parse().unwrap(),
                next_hops: vec!["10.0.0.11".parse().unwrap()],
                accepted: false,
                reject_reason: Some("outside the service prefixes".into()),
                installed: false,
                installed_next_hops: vec![],
                unusable_next_hops: vec![],
                nexthop_group: None,
            },
        ];
        let t = table(&[RouterRoutes {
            router: "r1".into(),
            routes,
        }]);
        assert_eq!(
            t.render(false, false),
            "ROUTER   PREFIX           NEXT-HOPS             ACCEPTED                           INSTALLED\n\
             r1       192.0.2.10/32    10.0.0.11,10.0.0.12   yes                                yes\n\
             r1       203.0.113.0/24   10.0.0.11             no: outside the service prefixes   no\n"
        );
        assert!(t
            .render(true, false)
            .contains("10.0.0.12 (via-gateway)   7"));
    }
}
