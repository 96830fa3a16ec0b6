//! Codec throughput in prefixes per second: decoding UPDATEs (owned `Update` and the borrowed
//! `UpdateView`) and packing prefixes into UPDATEs, for IPv4 /32 and /24 and IPv6 /128 and /48.
//!
//! `cargo bench -p ferrolb-bgp --bench codec` prints criterion's results, then one summary table
//! for 4096- and 65535-octet messages.

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use ferrolb_bgp::attribute::{AsPath, Community, NextHop, Origin, PathAttributes};
use ferrolb_bgp::codec::{decode_message, CodecOptions, UpdatePacker, UpdateView};
use ferrolb_bgp::Message;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Prefixes per measured batch.
const PREFIXES: u32 = 20_000;

struct Case {
    name: &'static str,
    prefixes: Vec<IpNet>,
    next_hop: NextHop,
}

fn cases() -> Vec<Case> {
    let v4 = |len: u8| -> Vec<IpNet> {
        (0..PREFIXES)
            .map(|i| {
                let host = if len == 32 {
                    i
                } else {
                    i << (32 - u32::from(len))
                };
                IpNet::V4(
                    Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + host), len).expect("valid length"),
                )
            })
            .collect()
    };
    let v6 = |len: u8| -> Vec<IpNet> {
        let base = u128::from(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0));
        (0..PREFIXES)
            .map(|i| {
                let host = u128::from(i) << (128 - u32::from(len));
                IpNet::V6(Ipv6Net::new(Ipv6Addr::from(base + host), len).expect("valid length"))
            })
            .collect()
    };
    let nh4 = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
    let nh6 = NextHop::V6 {
        global: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
        link_local: None,
    };
    vec![
        Case {
            name: "ipv4 /32",
            prefixes: v4(32),
            next_hop: nh4,
        },
        Case {
            name: "ipv4 /24",
            prefixes: v4(24),
            next_hop: nh4,
        },
        Case {
            name: "ipv6 /128",
            prefixes: v6(128),
            next_hop: nh6,
        },
        Case {
            name: "ipv6 /48",
            prefixes: v6(48),
            next_hop: nh6,
        },
    ]
}

fn path() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence([65001, 65002])),
        med: Some(0),
        communities: vec![Community::new(65001, 100)],
        ..PathAttributes::default()
    }
}

fn pack(case: &Case, opts: CodecOptions) -> Vec<Bytes> {
    UpdatePacker::new(opts)
        .announce(&path(), case.next_hop, &case.prefixes)
        .expect("packable")
}

/// Decodes every message to an owned `Update`; returns the prefixes seen.
fn decode_owned(messages: &[Bytes], opts: CodecOptions) -> usize {
    messages
        .iter()
        .map(|m| match decode_message(m, opts) {
            Ok(Message::Update(u)) => u.announced().count(),
            _ => 0,
        })
        .sum()
}

/// Walks every message's prefixes in place.
fn decode_view(messages: &[Bytes], opts: CodecOptions) -> usize {
    messages
        .iter()
        .map(|m| {
            UpdateView::from_frame(m, opts).map_or(0, |v| v.announced().map(black_box).count())
        })
        .sum()
}

type Op = fn(&Case, &[Bytes], CodecOptions) -> usize;

const OPS: [(&str, Op); 3] = [
    ("decode Update", |_, m, o| decode_owned(m, o)),
    ("decode UpdateView", |_, m, o| decode_view(m, o)),
    ("encode UpdatePacker", |c, _, o| pack(c, o).len()),
];

fn opts(extended: bool) -> CodecOptions {
    CodecOptions {
        four_octet_as: true,
        extended_message: extended,
    }
}

fn criterion_benches(c: &mut Criterion) {
    for case in cases() {
        let o = opts(false);
        let messages = pack(&case, o);
        let mut group = c.benchmark_group(case.name);
        group.throughput(Throughput::Elements(u64::from(PREFIXES)));
        for (name, op) in OPS {
            group.bench_function(name, |b| b.iter(|| op(&case, black_box(&messages), o)));
        }
        group.finish();
    }
}

/// Prefixes per second of `op`, measured for about `budget`.
fn rate(op: Op, case: &Case, messages: &[Bytes], o: CodecOptions, budget: Duration) -> f64 {
    let start = Instant::now();
    let mut rounds = 0u32;
    while rounds == 0 || start.elapsed() < budget {
        black_box(op(case, messages, o));
        rounds += 1;
    }
    f64::from(rounds) * f64::from(PREFIXES) / start.elapsed().as_secs_f64()
}

fn summary(budget: Duration) {
    println!("\ncodec throughput, prefixes/s ({PREFIXES} prefixes per batch)");
    print!("{:<10} {:>6} {:>6}", "prefixes", "max", "msgs");
    for (name, _) in OPS {
        print!(" {name:>20}");
    }
    println!();
    for case in cases() {
        for extended in [false, true] {
            let o = opts(extended);
            let messages = pack(&case, o);
            print!(
                "{:<10} {:>6} {:>6}",
                case.name,
                o.max_message_len(),
                messages.len()
            );
            for (_, op) in OPS {
                print!(" {:>20.0}", rate(op, &case, &messages, o, budget));
            }
            println!();
        }
    }
}

fn main() {
    // `cargo bench` passes --bench; anything else (cargo test --benches) is a quick smoke run.
    let benching = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
    summary(if benching {
        Duration::from_millis(500)
    } else {
        Duration::ZERO
    });
}
