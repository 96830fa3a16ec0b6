//! Allocator benchmark: assign 10,000 Services across a /16 and a /112,
//! rebuild that state as a restarted controller does, and show that pool
//! size and allocation count barely matter. Timed inside the process; heap
//! use is counted by a global allocator that tracks live and peak bytes.
//!
//! Run with `cargo bench -p ferrolb-controller --bench allocator`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrolb_api::{AddressFamily, IPAddressPoolSpec, ServiceReference};
use ferrolb_controller::allocator::{Allocator, IpFamilyPolicy, Pool, ServiceRequest};
use ferrolb_controller::reconcile::cached::CachedService;
use ferrolb_controller::reconcile::decide::rebuild;
use serde_json::json;

const SERVICES: usize = 10_000;
const RUNS: usize = 7;
/// Issue 6's memory target for the controller at 10,000 Services.
const MEMORY_TARGET: usize = 50 * 1000 * 1000;

/// The system allocator, counting the bytes live now and at their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is passed on to `System` unchanged; only counters are
// updated besides.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`; returns its result, the heap bytes it left allocated (held by
/// the result) and the most it had allocated at once.
fn heap_of<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    (out, held, peak)
}

fn heap_row(what: &str, (held, peak): (usize, usize)) {
    let mb = |b: usize| b as f64 / 1e6;
    let verdict = if peak <= MEMORY_TARGET {
        "ok (< 50 MB)"
    } else {
        "OVER (50 MB)"
    };
    println!(
        "{what:<52} {:>8.2} MB held {:>8.2} MB peak  {verdict}",
        mb(held),
        mb(peak)
    );
}

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

/// An allocator over [`pools`] that assigned every one of `requests`.
fn assign_all(requests: &[ServiceRequest]) -> Allocator {
    let mut a = Allocator::new();
    a.set_pools(pools());
    for r in requests {
        a.assign(r).expect("assign");
    }
    a
}

fn allocated() -> (Allocator, Vec<ServiceRequest>) {
    let requests: Vec<ServiceRequest> = (0..SERVICES).map(request).collect();
    (assign_all(&requests), requests)
}

/// The Services a restarted controller would list: each with its status.
fn services_with_status(a: &Allocator) -> Vec<Arc<CachedService>> {
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

    // Heap: what the allocator holds for 10,000 Services, and what a
    // restarted controller needs at most to rebuild it from the Service
    // objects (these already in memory, as the reflector holds them).
    println!("\nheap (counting allocator)");
    let requests: Vec<ServiceRequest> = (0..SERVICES).map(request).collect();
    let (held_allocator, held, peak) = heap_of(|| assign_all(&requests));
    heap_row("allocator after assigning 10,000", (held, peak));
    let (services, held, peak) = heap_of(|| services_with_status(&held_allocator));
    heap_row(
        "10,000 Services as cached (listed after restart)",
        (held, peak),
    );
    drop(held_allocator);
    let (rebuilt, held, peak) = heap_of(|| {
        let mut a = Allocator::new();
        let (restored, _) = rebuild(&mut a, pools(), &services, |_| BTreeMap::new(), None);
        assert_eq!(restored, SERVICES);
        a
    });
    heap_row("rebuild 10,000 from Service statuses", (held, peak));
    drop((rebuilt, services));
}
