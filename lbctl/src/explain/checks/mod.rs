//! The checks of `explain`, in path order, over [`ExplainFacts`]. Pure:
//! no I/O, so every broken case is table-tested.

mod announce;
mod l2;
mod routers;
mod service;

use ferrolb_api::{IPAddressPool, ServiceAnnotations};

use super::facts::ExplainFacts;
use super::verdict::{Check, Verdict};
use announce::{advertisements, bgp_sessions, bgp_speakers};
use l2::{l2_answers, l2_owner};
use routers::routers;
use service::{allocation, annotation_check, class, endpoints, pool_match, service_type};

/// Name of the check of the L2 owner: present when the address is
/// announced over L2.
pub const L2_OWNER: &str = "l2 owner";

/// Runs every check. Checks that cannot mean anything after an earlier
/// failure (no address, nothing to route) are left out.
pub fn run(f: &ExplainFacts) -> Vec<Check> {
    let svc = &f.service;
    let mut checks = Vec::new();
    // Without the right type and class FerroLB ignores the Service.
    for check in [service_type(f), class(f)] {
        let fatal = check.verdict == Verdict::Fail;
        checks.push(check);
        if fatal {
            return checks;
        }
    }
    let annotations = ServiceAnnotations::parse(&svc.annotations);
    checks.push(match &annotations {
        Ok(a) => annotation_check(f, a),
        Err(e) => Check::fail(
            "annotations",
            e.to_string(),
            format!(
                "fix or remove the annotation: kubectl annotate service -n {} {} {}-",
                svc.namespace, svc.name, e.annotation
            ),
        ),
    });
    let annotations = annotations.unwrap_or_default();
    let (pool_check, pool) = pool_match(f, &annotations);
    checks.push(pool_check);
    checks.push(allocation(f));
    checks.push(endpoints(f));
    if svc.ingress.is_empty() {
        return checks;
    }
    let Some(pool) = pool else {
        return checks;
    };
    let (adv_check, bgp, l2) = advertisements(f, pool);
    checks.push(adv_check);
    if l2 {
        checks.push(l2_owner(f));
        checks.extend(l2_answers(f));
    }
    if bgp {
        checks.push(bgp_speakers(f));
        checks.push(bgp_sessions(f));
        checks.extend(routers(f));
    }
    checks
}

/// A pool's name.
pub(crate) fn name(p: &IPAddressPool) -> &str {
    p.metadata.name.as_deref().unwrap_or_default()
}
