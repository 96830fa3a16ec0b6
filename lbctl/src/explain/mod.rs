//! `lbctl explain NAMESPACE/NAME`: walks a Service's path — type, class,
//! annotations, pool, allocation, endpoints, advertisements, speakers, BGP
//! sessions, each router's route and kernel FIB, and for L2 who answers ARP
//! and NDP for the address on this host's segment — and says where it breaks.

mod checks;
mod facts;
mod neighbors;
#[cfg(test)]
mod tests;
mod verdict;

use std::process::ExitCode;

use anyhow::{bail, Context as _};
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use serde::Serialize;

use crate::cluster;
use crate::facts::{AnnouncementFacts, ServiceFacts};
use crate::kube_client::Kube;
use crate::output::Printer;
use crate::router_api::{self, RouterEndpoint};
use crate::Failure;
pub use facts::{EndpointFacts, ExplainFacts, SessionFacts};
pub use neighbors::NeighborArgs;
pub use verdict::{Check, Verdict};

/// `lbctl explain` arguments.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The Service, as NAMESPACE/NAME (or NAME in the default namespace).
    pub service: String,

    #[command(flatten)]
    pub neighbors: NeighborArgs,
}

#[derive(Serialize)]
struct Report<'a> {
    service: String,
    checks: &'a [Check],
}

/// Runs `lbctl explain`; exit 1 when a check fails.
pub async fn run(
    kube: &Kube,
    printer: &Printer,
    args: &ExplainArgs,
    routers: &[RouterEndpoint],
) -> anyhow::Result<ExitCode> {
    let (namespace, name) = match args.service.split_once('/') {
        Some((ns, name)) => (ns.to_owned(), name.to_owned()),
        None => (kube.default_namespace.clone(), args.service.clone()),
    };
    let mut facts = gather(kube, &namespace, &name, routers).await?;
    let mut checks = checks::run(&facts);
    // Ask the segment only for an address announced over L2: no frame
    // leaves this host otherwise.
    if checks.iter().any(|c| c.check == checks::L2_OWNER) {
        facts.neighbors =
            neighbors::ask(&args.neighbors, &facts.service.ingress, &facts.nodes).await;
        checks = checks::run(&facts);
    }
    let title = format!("Service {namespace}/{name}");
    let report = Report {
        service: format!("{namespace}/{name}"),
        checks: &checks,
    };
    printer.print_with(&report, |_, color| verdict::render(&title, &checks, color))?;
    Ok(if checks.iter().any(|c| c.verdict == Verdict::Fail) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn gather(
    kube: &Kube,
    namespace: &str,
    name: &str,
    routers: &[RouterEndpoint],
) -> anyhow::Result<ExplainFacts> {
    let api: Api<Service> = Api::namespaced(kube.client.clone(), namespace);
    let Some(service) = api
        .get_opt(name)
        .await
        .with_context(|| format!("cannot read Service {namespace}/{name}"))?
    else {
        bail!(Failure(format!(
            "Service {namespace}/{name} not found: check the name with `kubectl get services -n {namespace}` (write NAMESPACE/NAME)"
        )));
    };
    let service = ServiceFacts::from_service(&service);
    let key = service.key();
    let events = cluster::events(kube, Some(namespace))
        .await?
        .into_iter()
        .filter(|e| e.kind == "Service" && e.name == name)
        .collect();
    let endpoints = cluster::endpoint_slices(kube, namespace, name)
        .await?
        .iter()
        .flat_map(|slice| slice.endpoints.clone())
        .flat_map(|e| {
            let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            let node = e.node_name.clone();
            e.addresses.into_iter().map(move |address| EndpointFacts {
                address,
                node: node.clone(),
                ready,
            })
        })
        .collect();
    let announcements = cluster::announcements(kube)
        .await?
        .iter()
        .map(AnnouncementFacts::from_object)
        .filter(|a| a.service == key)
        .collect();
    let sessions = cluster::sessions(kube)
        .await?
        .into_iter()
        .map(|s| {
            let status = s.status.unwrap_or_default();
            SessionFacts {
                node: s.spec.node,
                peer: s.spec.peer,
                address: s.spec.peer_address,
                state: format!("{:?}", status.state),
                last_error: status.last_error,
            }
        })
        .collect();
    let mut reports = Vec::new();
    for r in routers {
        reports.push(router_api::report(r).await);
    }
    Ok(ExplainFacts {
        expected_class: kube.lb_class.clone(),
        namespace_labels: cluster::namespace_labels(kube, namespace).await,
        objects: cluster::config_objects(kube).await?,
        events,
        endpoints,
        nodes: cluster::nodes(kube).await?,
        neighbors: Vec::new(),
        announcements,
        sessions,
        routers: reports,
        ferrolb_namespace: kube.ferrolb_namespace.clone(),
        service,
    })
}
