//! RIB throughput and memory.
//!
//! Throughput (criterion, prefixes per second):
//! - `import/1M-one-peer`: 1M /32 from one peer through import and decision;
//! - `route-server/1M-one-peer`: the same plus export to a monitor peer (Adj-RIB-Out batches);
//! - `route-server/10x100k`: 10 injectors announcing the same 100k /32 (1M paths), each new
//!   injector winning the decision, exported to a monitor peer;
//! - `peer-down/100k`: the best of two peers with 100k prefixes goes down.
//!
//! Memory: a counting global allocator reports live heap bytes per prefix (and per path) for
//! the same tables, printed before the criterion runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use ferrolb_bgp::attribute::{AsPath, Origin, PathAttributes};
use ferrolb_bgp::rib::{
    AdjRibOut, DecisionConfig, ExportMode, ExportPolicy, ImportPolicy, LocRib, PeerId, PeerInfo,
};
use ferrolb_bgp::Update;
use ipnet::Ipv4Net;

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const LOCAL_AS: u32 = 65000;
/// Prefixes per UPDATE: about what a 4096-byte UPDATE holds of /32s.
const PER_UPDATE: usize = 800;

fn prefix(i: u32) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i), 32).expect("valid length")
}

/// UPDATEs from injector `n` announcing prefixes `0..count`, with next hop 192.0.2.n and
/// AS_PATH `[65000 + n]`.
fn updates(n: u8, count: u32) -> Vec<Update> {
    updates_of(n, (0..count).map(prefix).collect())
}

/// [`updates`] of the given prefixes.
fn updates_of(n: u8, prefixes: Vec<Ipv4Net>) -> Vec<Update> {
    prefixes
        .chunks(PER_UPDATE)
        .map(|chunk| Update {
            attributes: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::from_sequence([LOCAL_AS + u32::from(n)])),
                next_hop: Some(Ipv4Addr::new(192, 0, 2, n)),
                ..PathAttributes::default()
            },
            nlri: chunk.to_vec(),
            ..Update::default()
        })
        .collect()
}

fn peer(n: u8) -> PeerInfo {
    PeerInfo::new(
        IpAddr::V4(Ipv4Addr::new(10, 255, 0, n)),
        LOCAL_AS + u32::from(n),
        LOCAL_AS,
        Ipv4Addr::new(n, n, n, n),
    )
}

/// A route server: injectors 1..=injectors and a monitor peer (n = 200).
struct RouteServer {
    rib: LocRib,
    injectors: Vec<PeerId>,
    monitor: AdjRibOut,
}

impl RouteServer {
    fn new(injectors: u8) -> RouteServer {
        // Without RFC 5004's rule, so that every injector fed after a worse one wins (the
        // costliest case); with it the first path stays best.
        let mut rib = LocRib::new(DecisionConfig {
            prefer_older_external: false,
            ..DecisionConfig::default()
        });
        let ids = (1..=injectors)
            .map(|n| rib.add_peer(peer(n), ImportPolicy::default()))
            .collect();
        let monitor_id = rib.add_peer(peer(200), ImportPolicy::default());
        let policy = ExportPolicy {
            mode: ExportMode::RouteServer,
            ..ExportPolicy::default()
        };
        RouteServer {
            rib,
            injectors: ids,
            monitor: AdjRibOut::new(monitor_id, peer(200), policy),
        }
    }

    /// Imports and exports; returns the number of prefixes handed to the UPDATE packer.
    fn feed(&mut self, injector: usize, updates: &[Update], export: bool) -> usize {
        let id = self.injectors[injector];
        let mut sent = 0;
        for u in updates {
            let out = self.rib.apply_update(id, u).expect("registered peer");
            if export {
                sent += self.monitor.process(&out.changes).announced_count();
            }
        }
        sent
    }
}

/// Injector feeds in the order that makes every new injector win (highest router id first).
fn feed_all(rs: &mut RouteServer, per_injector: &[Vec<Update>], export: bool) {
    for i in (0..per_injector.len()).rev() {
        rs.feed(i, &per_injector[i], export);
    }
}

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn memory_report() {
    println!("RIB memory (live heap bytes, counting allocator):");
    let one = updates(1, 1_000_000);
    let ten: Vec<Vec<Update>> = (1..=10).map(|n| updates(n, 100_000)).collect();

    for (label, export) in [
        ("1M /32, one peer, Loc-RIB only", false),
        ("1M /32, one peer, + Adj-RIB-Out to a monitor", true),
    ] {
        let before = live();
        let start = Instant::now();
        let mut rs = RouteServer::new(1);
        rs.feed(0, &one, export);
        let secs = start.elapsed().as_secs_f64();
        let bytes = live() - before;
        println!(
            "  {label}: {:.1} bytes/prefix ({:.0} prefixes/s in this one pass)",
            bytes as f64 / 1e6,
            1e6 / secs
        );
        drop(black_box(rs));
    }
    // The worst layout for the block tables: every prefix alone in its 64-prefix block.
    let sparse = updates_of(1, (0..100_000).map(|i| prefix(i * 64)).collect());
    let before = live();
    let mut rs = RouteServer::new(1);
    rs.feed(0, &sparse, false);
    println!(
        "  100k /32 64 addresses apart (one per block), Loc-RIB only: {:.1} bytes/prefix",
        (live() - before) as f64 / 1e5
    );
    drop(black_box(rs));
    let before = live();
    let start = Instant::now();
    let mut rs = RouteServer::new(10);
    feed_all(&mut rs, &ten, true);
    let secs = start.elapsed().as_secs_f64();
    let bytes = live() - before;
    println!(
        "  10 x 100k /32 (1M paths) + Adj-RIB-Out to a monitor: {:.1} bytes/path, {:.1} bytes/prefix ({:.0} paths/s in this one pass)",
        bytes as f64 / 1e6,
        bytes as f64 / 1e5,
        1e6 / secs
    );
    drop(black_box(rs));
}

fn throughput(c: &mut Criterion) {
    let one = updates(1, 1_000_000);
    let ten: Vec<Vec<Update>> = (1..=10).map(|n| updates(n, 100_000)).collect();

    let mut g = c.benchmark_group("import");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("1M-one-peer", |b| {
        b.iter_batched(
            || RouteServer::new(1),
            |mut rs| {
                rs.feed(0, &one, false);
                rs
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("route-server");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("1M-one-peer", |b| {
        b.iter_batched(
            || RouteServer::new(1),
            |mut rs| {
                let sent = rs.feed(0, &one, true);
                assert_eq!(sent, 1_000_000);
                rs
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("10x100k", |b| {
        b.iter_batched(
            || RouteServer::new(10),
            |mut rs| {
                feed_all(&mut rs, &ten, true);
                rs
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("peer-down");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("100k", |b| {
        b.iter_batched(
            || {
                let mut rs = RouteServer::new(2);
                feed_all(&mut rs, &ten[..2], false);
                rs
            },
            |mut rs| {
                let best = rs.injectors[0];
                let changes = rs.rib.peer_down(best).expect("registered peer");
                assert_eq!(changes.len(), 100_000);
                rs
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, throughput);

fn main() {
    memory_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
