//! Differential test: FerroLB's codec and netgauze-bgp-pkt decode the same bytes, and the
//! essential fields (message type, prefixes, next hop, AS path, communities, OPEN parameters...)
//! must agree.
//!
//! Inputs: realistic messages built with FerroLB's encoder (`codec_samples`), their malformed
//! variants, and every frame of the checked-in `decode_message` fuzz corpus.

// Shared with examples/fuzz_seeds.rs, which uses the rest of it.
#[allow(dead_code)]
mod codec_samples;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;

use codec_samples::{malformed, valid};
use ferrolb_bgp::attribute::{AsSegment, NextHop};
use ferrolb_bgp::codec::{decode_frame, frame_length, CodecOptions};
use ferrolb_bgp::message::Capability;
use ferrolb_bgp::types::AS_TRANS;
use ferrolb_bgp::Message;
use ipnet::IpNet;
use netgauze_bgp_pkt::capabilities::BgpCapability;
use netgauze_bgp_pkt::notification::BgpNotificationMessage;
use netgauze_bgp_pkt::path_attribute::{AsPath, MpReach, MpUnreach, PathAttributeValue};
use netgauze_bgp_pkt::wire::deserializer::BgpParsingContext;
use netgauze_bgp_pkt::BgpMessage;
use netgauze_parse_utils::reader::SliceReader;
use netgauze_parse_utils::traits::ParseFromWithOneInput;

/// What both decoders must agree on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Essentials {
    Open {
        version: u8,
        /// The real ASN: the 4-octet AS capability's, else My Autonomous System.
        asn: u32,
        hold_time: u16,
        router_id: Ipv4Addr,
        families: Vec<String>,
        four_octet_as: Option<u32>,
        route_refresh: bool,
        extended_message: bool,
        restart_time: Option<u16>,
    },
    Update(UpdateEssentials),
    Notification {
        code: u8,
    },
    Keepalive,
    RouteRefresh {
        family: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct UpdateEssentials {
    withdrawn: Vec<IpNet>,
    announced: Vec<IpNet>,
    next_hop: Option<String>,
    origin: Option<u8>,
    /// Segments as (type, ASNs), as on the wire: 2-octet sessions show AS_TRANS.
    as_path: Option<Vec<(u8, Vec<u32>)>>,
    med: Option<u32>,
    local_pref: Option<u32>,
    atomic_aggregate: bool,
    aggregator: Option<(u32, Ipv4Addr)>,
    communities: Vec<u32>,
    large_communities: Vec<(u32, u32, u32)>,
}

/// An ASN as a 2-octet field carries it.
fn wire_asn(asn: u32, opts: CodecOptions) -> u32 {
    if opts.four_octet_as || asn <= u32::from(u16::MAX) {
        asn
    } else {
        AS_TRANS
    }
}

fn next_hop_string(global: impl ToString, link_local: Option<impl ToString>) -> String {
    match link_local {
        Some(ll) => format!("{},{}", global.to_string(), ll.to_string()),
        None => global.to_string(),
    }
}

fn ours(msg: &Message, opts: CodecOptions) -> Essentials {
    match msg {
        Message::Open(o) => Essentials::Open {
            version: o.version,
            asn: o.asn,
            hold_time: o.hold_time,
            router_id: o.router_id,
            families: o
                .capabilities
                .iter()
                .filter_map(|c| match c {
                    Capability::Multiprotocol(f) => Some(format!("{f:?}")),
                    _ => None,
                })
                .collect(),
            four_octet_as: o.capabilities.iter().find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            }),
            route_refresh: o.route_refresh(),
            extended_message: o.extended_message(),
            restart_time: o.graceful_restart().map(|g| g.restart_time),
        },
        Message::Update(u) => {
            let a = &u.attributes;
            let next_hop = match &a.mp_reach {
                Some(r) => Some(match r.next_hop {
                    NextHop::V4(v) => v.to_string(),
                    NextHop::V6 { global, link_local } => next_hop_string(global, link_local),
                }),
                None => a.next_hop.map(|n| n.to_string()),
            };
            Essentials::Update(UpdateEssentials {
                withdrawn: u.withdrawn_prefixes().collect(),
                announced: u
                    .nlri
                    .iter()
                    .map(|p| IpNet::V4(*p))
                    .chain(a.mp_reach.iter().flat_map(|r| r.nlri.iter().copied()))
                    .collect(),
                next_hop,
                origin: a.origin.map(|o| o as u8),
                as_path: a.as_path.as_ref().map(|p| {
                    p.segments
                        .iter()
                        .map(|s| match s {
                            AsSegment::Set(v) => {
                                (1, v.iter().map(|x| wire_asn(*x, opts)).collect())
                            }
                            AsSegment::Sequence(v) => {
                                (2, v.iter().map(|x| wire_asn(*x, opts)).collect())
                            }
                        })
                        .collect()
                }),
                med: a.med,
                local_pref: a.local_pref,
                atomic_aggregate: a.atomic_aggregate,
                aggregator: a.aggregator.map(|g| (wire_asn(g.asn, opts), g.address)),
                communities: a.communities.iter().map(|c| c.0).collect(),
                large_communities: a
                    .large_communities
                    .iter()
                    .map(|c| (c.global_admin, c.local_data1, c.local_data2))
                    .collect(),
            })
        }
        Message::Notification(n) => Essentials::Notification {
            code: n.code.code(),
        },
        Message::Keepalive => Essentials::Keepalive,
        Message::RouteRefresh(f) => Essentials::RouteRefresh {
            family: format!("{f:?}"),
        },
        // `decode_frame` never returns it; kept distinct from any request.
        Message::RouteRefreshIgnored(m) => Essentials::RouteRefresh {
            family: format!("ignored {m:?}"),
        },
    }
}

/// netgauze keeps host bits past the prefix length; FerroLB masks them (see the codec docs), so
/// its prefixes are compared masked.
fn theirs_update(u: &netgauze_bgp_pkt::update::BgpUpdateMessage) -> UpdateEssentials {
    let mut e = UpdateEssentials {
        withdrawn: u
            .withdraw_routes()
            .iter()
            .map(|p| IpNet::V4(p.network().address().trunc()))
            .collect(),
        announced: u
            .nlri()
            .iter()
            .map(|p| IpNet::V4(p.network().address().trunc()))
            .collect(),
        ..UpdateEssentials::default()
    };
    let mut mp_announced = Vec::new();
    let mut mp_withdrawn = Vec::new();
    for attr in u.path_attributes() {
        match attr.value() {
            PathAttributeValue::Origin(o) => e.origin = Some(*o as u8),
            PathAttributeValue::AsPath(AsPath::As2PathSegments(segs)) => {
                e.as_path = Some(
                    segs.iter()
                        .map(|s| {
                            (
                                u8::from(s.segment_type()),
                                s.as_numbers().iter().map(|&a| u32::from(a)).collect(),
                            )
                        })
                        .collect(),
                );
            }
            PathAttributeValue::AsPath(AsPath::As4PathSegments(segs)) => {
                e.as_path = Some(
                    segs.iter()
                        .map(|s| (u8::from(s.segment_type()), s.as_numbers().to_vec()))
                        .collect(),
                );
            }
            PathAttributeValue::NextHop(n) => {
                e.next_hop.get_or_insert_with(|| n.next_hop().to_string());
            }
            PathAttributeValue::MultiExitDiscriminator(m) => e.med = Some(m.metric()),
            PathAttributeValue::LocalPreference(l) => e.local_pref = Some(l.metric()),
            PathAttributeValue::AtomicAggregate(_) => e.atomic_aggregate = true,
            PathAttributeValue::Aggregator(
                netgauze_bgp_pkt::path_attribute::Aggregator::As2Aggregator(a),
            ) => {
                e.aggregator = Some((u32::from(*a.asn()), a.origin()));
            }
            PathAttributeValue::Aggregator(
                netgauze_bgp_pkt::path_attribute::Aggregator::As4Aggregator(a),
            ) => {
                e.aggregator = Some((*a.asn(), a.origin()));
            }
            PathAttributeValue::Communities(c) => {
                e.communities = c.communities().iter().map(|c| c.value()).collect()
            }
            PathAttributeValue::LargeCommunities(c) => {
                e.large_communities = c
                    .communities()
                    .iter()
                    .map(|c| (c.global_admin(), c.local_data1(), c.local_data2()))
                    .collect();
            }
            PathAttributeValue::MpReach(MpReach::Ipv4Unicast {
                next_hop,
                next_hop_local,
                nlri,
            }) => {
                e.next_hop = Some(next_hop_string(next_hop, next_hop_local.as_ref()));
                mp_announced.extend(
                    nlri.iter()
                        .map(|p| IpNet::V4(p.network().address().trunc())),
                );
            }
            PathAttributeValue::MpReach(MpReach::Ipv6Unicast {
                next_hop_global,
                next_hop_local,
                nlri,
            }) => {
                e.next_hop = Some(next_hop_string(next_hop_global, next_hop_local.as_ref()));
                mp_announced.extend(
                    nlri.iter()
                        .map(|p| IpNet::V6(p.network().address().trunc())),
                );
            }
            PathAttributeValue::MpUnreach(MpUnreach::Ipv4Unicast { nlri }) => {
                mp_withdrawn.extend(
                    nlri.iter()
                        .map(|p| IpNet::V4(p.network().address().trunc())),
                );
            }
            PathAttributeValue::MpUnreach(MpUnreach::Ipv6Unicast { nlri }) => {
                mp_withdrawn.extend(
                    nlri.iter()
                        .map(|p| IpNet::V6(p.network().address().trunc())),
                );
            }
            _ => {}
        }
    }
    e.announced.extend(mp_announced);
    e.withdrawn.extend(mp_withdrawn);
    e
}

fn theirs(msg: &BgpMessage) -> Essentials {
    match msg {
        BgpMessage::Open(o) => {
            let caps = o.capabilities();
            Essentials::Open {
                version: o.version(),
                // Not `my_asn4()`: with several 4-octet AS capabilities it takes the last one,
                // FerroLB the first.
                asn: caps
                    .iter()
                    .find_map(|c| match c {
                        BgpCapability::FourOctetAs(a) => Some(a.asn4()),
                        _ => None,
                    })
                    .unwrap_or(u32::from(o.my_as())),
                hold_time: o.hold_time(),
                router_id: o.bgp_id(),
                families: caps
                    .iter()
                    .filter_map(|c| match c {
                        BgpCapability::MultiProtocolExtensions(m) => {
                            Some(format!("{:?}", m.address_type()))
                        }
                        _ => None,
                    })
                    .collect(),
                four_octet_as: caps.iter().find_map(|c| match c {
                    BgpCapability::FourOctetAs(a) => Some(a.asn4()),
                    _ => None,
                }),
                route_refresh: caps.iter().any(|c| {
                    matches!(
                        c,
                        BgpCapability::RouteRefresh | BgpCapability::CiscoRouteRefresh
                    )
                }),
                extended_message: caps
                    .iter()
                    .any(|c| matches!(c, BgpCapability::ExtendedMessage)),
                restart_time: caps.iter().find_map(|c| match c {
                    BgpCapability::GracefulRestartCapability(g) => Some(g.time()),
                    _ => None,
                }),
            }
        }
        BgpMessage::Update(u) => Essentials::Update(theirs_update(u)),
        BgpMessage::Notification(n) => Essentials::Notification {
            code: match n {
                BgpNotificationMessage::MessageHeaderError(_) => 1,
                BgpNotificationMessage::OpenMessageError(_) => 2,
                BgpNotificationMessage::UpdateMessageError(_) => 3,
                BgpNotificationMessage::HoldTimerExpiredError(_) => 4,
                BgpNotificationMessage::FiniteStateMachineError(_) => 5,
                BgpNotificationMessage::CeaseError(_) => 6,
                BgpNotificationMessage::RouteRefreshError(_) => 7,
            },
        },
        BgpMessage::KeepAlive => Essentials::Keepalive,
        BgpMessage::RouteRefresh(r) => Essentials::RouteRefresh {
            family: format!("{:?}", r.address_type()),
        },
    }
}

/// The AS4_PATH netgauze reports (it does not merge it into AS_PATH), flattened.
fn their_as4_path(msg: &BgpMessage) -> Option<Vec<u32>> {
    let BgpMessage::Update(u) = msg else {
        return None;
    };
    u.path_attributes().iter().find_map(|a| match a.value() {
        PathAttributeValue::As4Path(p) => Some(
            p.segments()
                .iter()
                .flat_map(|s| s.as_numbers().to_vec())
                .collect(),
        ),
        _ => None,
    })
}

fn netgauze_decode(frame: &[u8], opts: CodecOptions) -> Result<BgpMessage, String> {
    let mut ctx = BgpParsingContext::new(
        opts.four_octet_as,
        HashMap::new(),
        HashMap::new(),
        true,
        true,
        true,
        true,
    );
    let mut cur = SliceReader::new(frame);
    BgpMessage::parse(&mut cur, &mut ctx).map_err(|e| format!("{e:?}"))
}

/// The outcome of decoding one frame with both codecs.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Both decoded it and agree.
    Agree,
    /// FerroLB decoded it with RFC 7606 errors handled; netgauze refused it.
    OursWithErrors,
    /// Only FerroLB accepted it.
    OnlyOurs(String),
    /// Only netgauze accepted it (FerroLB's NOTIFICATION given).
    OnlyTheirs(String),
    BothReject,
}

fn compare(frame: &[u8], opts: CodecOptions) -> Outcome {
    let ours_result = decode_frame(frame, opts);
    let theirs_result = netgauze_decode(frame, opts);
    match (ours_result, theirs_result) {
        (Ok(Some(Message::Update(u))), Err(_)) if !u.errors.is_empty() => Outcome::OursWithErrors,
        (Ok(Some(Message::Update(u))), Ok(_)) if !u.errors.is_empty() => Outcome::OursWithErrors,
        (Ok(Some(m)), Ok(t)) => {
            let mut mine = ours(&m, opts);
            let their = theirs(&t);
            if let (Message::Update(u), Essentials::Update(o), Essentials::Update(th)) =
                (&m, &mut mine, &their)
            {
                if !opts.four_octet_as {
                    reconcile_as4(u, o, th, their_as4_path(&t));
                }
            }
            assert_eq!(mine, their, "essentials differ for {frame:02x?}");
            Outcome::Agree
        }
        (Ok(None), _) => Outcome::BothReject,
        (Ok(Some(m)), Err(e)) => Outcome::OnlyOurs(format!("{:?}: {e}", m.type_code())),
        (Err(n), Ok(_)) => Outcome::OnlyTheirs(n.to_string()),
        (Err(_), Err(_)) => Outcome::BothReject,
    }
}

/// ASNs of a path, or `None` when it has an AS_SET (whose count differs from its length).
fn flat(segments: impl IntoIterator<Item = (u8, Vec<u32>)>) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for (seg_type, asns) in segments {
        if seg_type != 2 {
            return None;
        }
        out.extend(asns);
    }
    Some(out)
}

/// On 2-octet AS sessions FerroLB reports the RFC 6793 section 4.2.3 reconstruction, netgauze
/// the attributes as sent. Where FerroLB's view is one the RFC allows from what netgauze read
/// (AS4 attributes ignored, or AS4_PATH put after the leading AS_PATH ASNs; AS4_AGGREGATOR in
/// place of an AS_TRANS AGGREGATOR), netgauze's view is taken for the comparison.
fn reconcile_as4(
    u: &ferrolb_bgp::message::Update,
    mine: &mut UpdateEssentials,
    their: &UpdateEssentials,
    as4_path: Option<Vec<u32>>,
) {
    if let (Some((_, address)), Some((AS_TRANS, their_address))) =
        (mine.aggregator, their.aggregator)
    {
        if address == their_address {
            mine.aggregator = their.aggregator;
        }
    }
    let Some(as4) = as4_path else { return };
    let my_path = u.attributes.as_path.as_ref().and_then(|p| {
        flat(p.segments.iter().map(|s| match s {
            AsSegment::Set(v) => (1, v.clone()),
            AsSegment::Sequence(v) => (2, v.clone()),
        }))
    });
    let their_path = their.as_path.clone().and_then(flat);
    if let (Some(mine_flat), Some(theirs_flat)) = (my_path, their_path) {
        let merged = match theirs_flat.len().checked_sub(as4.len()) {
            Some(lead) => [theirs_flat.get(..lead).unwrap_or_default(), &as4[..]].concat(),
            None => theirs_flat.clone(),
        };
        if mine_flat == merged || mine.as_path == their.as_path {
            mine.as_path = their.as_path.clone();
        }
    }
}

/// Every frame of a stream, as framed by FerroLB's framer.
fn frames(mut stream: &[u8], opts: CodecOptions) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Ok(Some(len)) = frame_length(stream, opts) {
        let Some((frame, rest)) = stream.split_at_checked(len) else {
            break;
        };
        out.push(frame);
        stream = rest;
    }
    out
}

/// Realistic samples netgauze-bgp-pkt 0.13 cannot read: it has no RFC 9072 extended optional
/// parameters.
const NETGAUZE_GAPS: [&str; 1] = ["open_extended_parameters"];

#[test]
fn codec_agrees_with_netgauze_on_realistic_messages() {
    let mut compared = 0;
    for sample in valid() {
        for frame in frames(&sample.bytes, sample.opts) {
            let outcome = compare(frame, sample.opts);
            if NETGAUZE_GAPS.contains(&sample.name) {
                assert!(
                    matches!(outcome, Outcome::OnlyOurs(_)),
                    "{}: {outcome:?}",
                    sample.name
                );
                continue;
            }
            assert_eq!(outcome, Outcome::Agree, "{}", sample.name);
            compared += 1;
        }
    }
    assert!(compared >= 20, "compared {compared} frames");
}

#[test]
fn codec_refuses_or_handles_malformed_messages() {
    for sample in malformed() {
        for frame in frames(&sample.bytes, sample.opts) {
            match decode_frame(frame, sample.opts) {
                Err(_) => {}
                Ok(Some(Message::Update(u))) => {
                    assert!(!u.errors.is_empty(), "{}: {u:?}", sample.name)
                }
                Ok(other) => panic!("{}: accepted as {other:?}", sample.name),
            }
        }
    }
}

#[test]
fn codec_agrees_with_netgauze_on_the_fuzz_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode_message");
    let mut tally: HashMap<&'static str, usize> = HashMap::new();
    // Distinct reasons, without byte offsets.
    let mut only_theirs = std::collections::BTreeMap::<String, usize>::new();
    let mut only_ours = std::collections::BTreeMap::<String, usize>::new();
    let reason = |s: &str| s.split(" {").next().unwrap_or(s).to_string();
    let entries = std::fs::read_dir(&dir).expect("checked-in corpus");
    for entry in entries {
        let data = std::fs::read(entry.expect("corpus entry").path()).expect("readable");
        let Some((&selector, stream)) = data.split_first() else {
            continue;
        };
        let opts = CodecOptions {
            four_octet_as: selector & 1 != 0,
            extended_message: selector & 2 != 0,
        };
        for frame in frames(stream, opts) {
            let key = match compare(frame, opts) {
                Outcome::Agree => "agree",
                Outcome::OursWithErrors => "ours with RFC 7606 errors",
                Outcome::OnlyOurs(m) => {
                    *only_ours.entry(reason(&m)).or_default() += 1;
                    "only ours"
                }
                Outcome::OnlyTheirs(n) => {
                    *only_theirs.entry(reason(&n)).or_default() += 1;
                    "only theirs"
                }
                Outcome::BothReject => "both reject",
            };
            *tally.entry(key).or_default() += 1;
        }
    }
    println!("fuzz corpus frames: {tally:?}");
    println!("accepted by netgauze only (FerroLB's NOTIFICATION): {only_theirs:?}");
    println!("accepted by FerroLB only (netgauze's error): {only_ours:?}");
    assert!(tally.get("agree").copied().unwrap_or(0) >= 20, "{tally:?}");
}
