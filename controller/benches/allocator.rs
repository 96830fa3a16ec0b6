//! Allocator benchmark: assign 10,000 Services across a /16 and a /112,
//! rebuild that state as a restarted controller does, and show that pool
//! size and allocation count barely matter. Timed inside the process.
//!
//! Run with `cargo bench -p ferrolb-controller --bench allocator`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrolb_api::{AddressFamily, IPAddressPoolSpec, ServiceReference};
use ferrolb_controller::allocator::{Allocator, IpFamilyPolicy, Pool, ServiceRequest};
use ferrolb_controller::reconcile::decide::rebuild;
use k8s_openapi::api::core::v1::Service;
use serde_json::json;

const SERVICES: usize = 10_000;
const RUNS: usize = 7;

fn pool(name: &str, addresses: &str) -> Pool {
    let spec: IPAddressPoolSpec =
        serde_json::from_value(json!({ "addresses": [addresses] })).expect("pool spec");
    Pool::new(name, &spec).expect("pool")
}

fn pools() -> Vec<Pool> {
    vec![pool("v4", "10.0.0.0/16"), pool("v6", "2001:db8::/112")]
}

/// Service `i`: even ones IPv4, odd ones IPv6.
fn request(i: usize) -> ServiceRequest {
    ServiceRequest {
        service: ServiceReference {
            namespace: format!("ns-{}", i % 50),
            name: format!("svc-{i}"),
        },
        primary_family: if i.is_multiple_of(2) {
            AddressFamily::V4
        } else {
            AddressFamily::V6
        },
        family_policy: IpFamilyPolicy::SingleStack,
        ..ServiceRequest::default()
    }
}

/// The best and median of `RUNS` timings of `f`, which gets a fresh setup
/// each run.
fn measure<S>(mut setup: impl FnMut() -> S, mut f: impl FnMut(&mut S)) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let mut state = setup();
            let started = Instant::now();
            f(&mut state);
            started.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[RUNS / 2])
}

fn row(what: &str, count: usize, (best, median): (Duration, Duration), target: Option<Duration>) {
    let per_op = best / u32::try_from(count.max(1)).unwrap_or(u32::MAX);
    let verdict = match target {
        Some(t) if best <= t => format!("ok (< {t:?})"),
        Some(t) => format!("OVER ({t:?})"),
        None => String::new(),
    };
    println!(
        "{what:<52} {count:>7} {:>11.2?} {:>11.2?} {:>10.2?}  {verdict}",
        best, median, per_op
    );
}

fn allocated() -> (Allocator, Vec<ServiceRequest>) {
    let mut a = Allocator::new();
    a.set_pools(pools());
    let requests: Vec<ServiceRequest> = (0..SERVICES).map(request).collect();
    for r in &requests {
        a.assign(r).expect("assign");
    }
    (a, requests)
}

/// The Services a restarted controller would list: each with its status.
fn services_with_status(a: &Allocator) -> Vec<Arc<Service>> {
    a.allocations()
        .map(|(key, alloc)| {
            let ingress: Vec<_> = alloc
                .ips
                .iter()
                .map(|ip| json!({"ip": ip.to_string()}))
                .collect();
            let family = if alloc.ips[0].is_ipv4() {
                "IPv4"
            } else {
                "IPv6"
            };
            Arc::new(
                serde_json::from_value(json!({
                    "metadata": {"name": key.name, "namespace": key.namespace,
                        "creationTimestamp": "2025-01-01T00:00:00Z",
                        "annotations": {"ferrolb.io/ip-allocated-from-pool": alloc.pool}},
                    "spec": {"type": "LoadBalancer", "ipFamilies": [family],
                        "ports": [{"port": 80, "protocol": "TCP"}]},
                    "status": {"loadBalancer": {"ingress": ingress}},
                }))
                .expect("service"),
            )
        })
        .collect()
}

fn main() {
    println!("FerroLB allocator benchmark ({RUNS} runs each; best, median, best per operation)\n");
    println!(
        "{:<52} {:>7} {:>11} {:>11} {:>10}",
        "operation", "count", "best", "median", "per op"
    );

    let requests: Vec<ServiceRequest> = (0..SERVICES).map(request).collect();
    row(
        "assign 10,000 Services (/16 IPv4 + /112 IPv6)",
        SERVICES,
        measure(
            || {
                let mut a = Allocator::new();
                a.set_pools(pools());
                a
            },
            |a| {
                for r in &requests {
                    black_box(a.assign(r).expect("assign"));
                }
            },
        ),
        Some(Duration::from_millis(50)),
    );

    let (full, requests) = allocated();
    let services = services_with_status(&full);
    row(
        "rebuild 10,000 from Service statuses",
        SERVICES,
        measure(Allocator::new, |a| {
            let (restored, conflicts) = rebuild(a, pools(), &services, |_| BTreeMap::new(), None);
            assert_eq!((restored, conflicts.len()), (SERVICES, 0));
        }),
        Some(Duration::from_millis(100)),
    );
    row(
        "  then re-assign all (every one keeps its address)",
        SERVICES,
        measure(
            || full.clone(),
            |a| {
                for r in &requests {
                    black_box(a.assign(r).expect("assign"));
                }
            },
        ),
        None,
    );
    let held: Vec<_> = full
        .allocations()
        .map(|(k, a)| (k.clone(), a.ips.clone()))
        .collect();
    row(
        "restore 10,000 (allocator only)",
        SERVICES,
        measure(
            || {
                let mut a = Allocator::new();
                a.set_pools(pools());
                a
            },
            |a| {
                for (r, (_, ips)) in requests.iter().zip(&held) {
                    black_box(a.restore(r, ips).expect("restore"));
                }
            },
        ),
        None,
    );
    row(
        "set_pools with 10,000 held (pool edit)",
        1,
        measure(
            || full.clone(),
            |a| assert!(a.set_pools(pools()).is_empty()),
        ),
        None,
    );
    row(
        "release 10,000",
        SERVICES,
        measure(
            || full.clone(),
            |a| {
                for r in &requests {
                    black_box(a.release(&r.service));
                }
            },
        ),
        None,
    );

    // Pool size and allocation count: one more assignment into a /28 with
    // 10 held, and into a /8 with 100,000 held.
    let one_more = |block: &str, held: usize| {
        measure(
            || {
                let mut a = Allocator::new();
                a.set_pools([pool("p", block)]);
                for i in 0..held {
                    a.assign(&request(i * 2)).expect("fill");
                }
                a
            },
            |a| {
                for i in 0..1_000 {
                    let r = request(1_000_000 + i * 2);
                    black_box(a.assign(&r).expect("assign"));
                    a.release(&r.service);
                }
            },
        )
    };
    row(
        "assign+release x1,000: /28 holding 10",
        1_000,
        one_more("192.0.2.0/28", 10),
        None,
    );
    row(
        "assign+release x1,000: /8 holding 100,000",
        1_000,
        one_more("10.0.0.0/8", 100_000),
        None,
    );
}
