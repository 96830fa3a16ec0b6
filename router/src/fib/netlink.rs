//! rtnetlink I/O: executing [`Op`]s, reading FerroLB's routes and the nexthop objects back, and
//! resolving next hops.
//!
//! Routes are built with `rtnetlink`'s message builder and netlink-packet-route's types;
//! nexthop objects with [`super::nexthop_msg`]. Both travel over one netlink-proto connection,
//! whose message type [`RtMessage`] covers both. The socket has strict checking on
//! (`NETLINK_GET_STRICT_CHK`), so route dumps are filtered by the kernel to FerroLB's protocol
//! and main table instead of copying a full Internet table to user space.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use futures::{Stream, StreamExt};
use ipnet::IpNet;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::route::{
    RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::proto::{new_connection, ConnectionHandle};
use rtnetlink::sys::{protocols::NETLINK_ROUTE, AsyncSocket, SocketAddr};
use rtnetlink::{RouteMessageBuilder, RouteNextHopBuilder};

use super::kernel::{KernelNextHop, KernelRoute, KernelState};
pub use super::message::RtMessage;
use super::nexthop_msg::NextHopMessage;
pub use super::readback::Reach;
use super::readback::{kernel_next_hop, kernel_route, reach_of};
use super::{Op, Target, ROUTE_METRIC};

/// How long one netlink request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests of one stage in flight at once.
const CONCURRENCY: usize = 64;
/// Receive buffer for dumps of large tables.
const RECEIVE_BUFFER: usize = 4 * 1024 * 1024;

/// A failed netlink operation.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The socket could not be opened or configured.
    #[error("cannot open a netlink socket")]
    Socket(#[source] std::io::Error),
    /// The kernel refused the request.
    #[error("{what}: {source}")]
    Kernel {
        /// The request.
        what: String,
        /// The kernel's errno.
        source: std::io::Error,
    },
    /// The request could not be built or sent, or its answer was lost.
    #[error("{what}: {reason}")]
    Request {
        /// The request.
        what: String,
        /// Why.
        reason: String,
    },
}

impl NetlinkError {
    /// The kernel's errno, if the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// Outcome of [`Netlink::apply`].
#[derive(Debug, Default)]
pub struct Applied {
    /// Ops the kernel accepted.
    pub done: usize,
    /// Ops that failed, with why.
    pub failed: Vec<(Op, NetlinkError)>,
    /// Removals skipped because an earlier op of the batch failed.
    pub skipped: usize,
}

/// A netlink route socket; cheap to clone.
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: ConnectionHandle<RtMessage>,
    protocol: u8,
}

impl Netlink {
    /// Opens the socket and starts its connection task; FerroLB's objects carry `protocol`.
    pub fn connect(protocol: u8) -> Result<Netlink, NetlinkError> {
        let (mut connection, handle, _unsolicited) =
            new_connection::<RtMessage>(NETLINK_ROUTE).map_err(NetlinkError::Socket)?;
        let socket = connection.socket_mut().socket_mut();
        socket
            .set_netlink_get_strict_chk(true)
            .map_err(NetlinkError::Socket)?;
        if let Err(error) = socket.set_rx_buf_sz(RECEIVE_BUFFER) {
            tracing::debug!(%error, "cannot enlarge the netlink receive buffer");
        }
        tokio::spawn(connection);
        Ok(Netlink { handle, protocol })
    }

    /// The protocol number tagging FerroLB's routes and nexthop objects.
    pub fn protocol(&self) -> u8 {
        self.protocol
    }

    async fn request(
        &self,
        what: &str,
        message: RtMessage,
        flags: u16,
    ) -> Result<Vec<RtMessage>, NetlinkError> {
        let mut message = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(message),
        );
        message.header.flags = NLM_F_REQUEST | flags;
        message.finalize();
        let request_error = |reason: String| NetlinkError::Request {
            what: what.to_owned(),
            reason,
        };
        let responses = self
            .handle
            .request(message, SocketAddr::new(0, 0))
            .map_err(|e| request_error(e.to_string()))?;
        tokio::time::timeout(REQUEST_TIMEOUT, collect(what, responses))
            .await
            .map_err(|_| request_error(format!("no answer within {REQUEST_TIMEOUT:?}")))?
    }

    /// Whether the kernel supports nexthop objects.
    pub async fn supports_next_hops(&self) -> Result<bool, NetlinkError> {
        match self.dump_next_hops().await {
            Ok(_) => Ok(true),
            Err(e) if unsupported(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every nexthop object, by id.
    pub async fn dump_next_hops(&self) -> Result<BTreeMap<u32, KernelNextHop>, NetlinkError> {
        let answers = self
            .request(
                "dumping nexthop objects",
                RtMessage::GetNextHop(NextHopMessage::default()),
                NLM_F_DUMP,
            )
            .await?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RtMessage::NewNextHop(nh) => kernel_next_hop(nh),
                _ => None,
            })
            .collect())
    }

    /// FerroLB's routes in the main table, both families.
    pub async fn dump_routes(&self) -> Result<Vec<KernelRoute>, NetlinkError> {
        let mut routes = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut request = RouteMessage::default();
            request.header.address_family = family;
            request.header.table = RouteHeader::RT_TABLE_MAIN;
            request.header.protocol = RouteProtocol::from(self.protocol);
            let answers = self
                .request(
                    "dumping routes",
                    RtMessage::Route(RouteNetlinkMessage::GetRoute(request)),
                    NLM_F_DUMP,
                )
                .await?;
            routes.extend(answers.iter().filter_map(|m| match m {
                RtMessage::Route(RouteNetlinkMessage::NewRoute(r)) => {
                    kernel_route(r, self.protocol)
                }
                _ => None,
            }));
        }
        Ok(routes)
    }

    /// The kernel state [`super::Fib::reconcile`] compares with (no nexthop objects on a
    /// kernel without them).
    pub async fn kernel_state(&self) -> Result<KernelState, NetlinkError> {
        let next_hops = match self.dump_next_hops().await {
            Ok(next_hops) => next_hops,
            Err(e) if unsupported(&e) => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(KernelState {
            next_hops,
            routes: self.dump_routes().await?,
        })
    }

    /// How `addr` is reached, from the kernel's own lookup (`ip route get fibmatch`).
    pub async fn resolve(&self, addr: IpAddr) -> Result<Reach, NetlinkError> {
        let mut request = RouteMessage::default();
        request.header.address_family = family_of(addr);
        request.header.destination_prefix_length = host_len(addr);
        request.header.flags = RouteFlags::FibMatch;
        request
            .attributes
            .push(RouteAttribute::Destination(addr.into()));
        let what = format!("resolving next hop {addr}");
        let answers = match self
            .request(
                &what,
                RtMessage::Route(RouteNetlinkMessage::GetRoute(request)),
                0,
            )
            .await
        {
            Ok(answers) => answers,
            Err(e)
                if matches!(
                    e.errno(),
                    Some(libc::ENETUNREACH | libc::EHOSTUNREACH | libc::ENOENT | libc::ESRCH)
                ) =>
            {
                return Ok(Reach::Unreachable)
            }
            Err(e) => return Err(e),
        };
        let Some(route) = answers.into_iter().find_map(|m| match m {
            RtMessage::Route(RouteNetlinkMessage::NewRoute(r)) => Some(r),
            _ => None,
        }) else {
            return Ok(Reach::Unreachable);
        };
        Ok(reach_of(&route, self.protocol))
    }

    /// Executes `ops` (in stage order) stage by stage, the ops of one stage concurrently. After
    /// a failure the remaining removals are skipped.
    pub async fn apply(&self, ops: &[Op]) -> Applied {
        let mut applied = Applied::default();
        let mut start = 0;
        while let Some(first) = ops.get(start) {
            let stage = first.stage();
            let end = ops[start..]
                .iter()
                .position(|o| o.stage() != stage)
                .map_or(ops.len(), |n| start + n);
            let batch = &ops[start..end];
            start = end;
            if !applied.failed.is_empty() && first.is_removal() {
                applied.skipped += batch.len();
                continue;
            }
            let results: Vec<(Op, Result<(), NetlinkError>)> =
                futures::stream::iter(batch.to_vec())
                    .map(|op| {
                        let netlink = self.clone();
                        async move {
                            let result = netlink.execute(&op).await;
                            (op, result)
                        }
                    })
                    .buffer_unordered(CONCURRENCY)
                    .collect()
                    .await;
            for (op, result) in results {
                match result {
                    Ok(()) => applied.done += 1,
                    Err(e) => applied.failed.push((op, e)),
                }
            }
        }
        applied
    }

    /// Executes one op.
    pub async fn execute(&self, op: &Op) -> Result<(), NetlinkError> {
        let what = op.to_string();
        let create = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        let replace = NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
        let (message, flags) = match op {
            Op::NewNextHop { id, gateway, oif } => (
                RtMessage::NewNextHop(NextHopMessage::gateway(*id, *gateway, *oif, self.protocol)),
                create,
            ),
            Op::ReplaceNextHop { id, gateway, oif } => (
                RtMessage::NewNextHop(NextHopMessage::gateway(*id, *gateway, *oif, self.protocol)),
                replace,
            ),
            Op::NewGroup { id, members } => (
                RtMessage::NewNextHop(NextHopMessage::group(*id, members.clone(), self.protocol)),
                create,
            ),
            Op::ReplaceGroup { id, members } => (
                RtMessage::NewNextHop(NextHopMessage::group(*id, members.clone(), self.protocol)),
                replace,
            ),
            Op::DeleteGroup { id } | Op::DeleteNextHop { id } => {
                (RtMessage::DelNextHop(NextHopMessage::id(*id)), NLM_F_ACK)
            }
            Op::ReplaceRoute { prefix, target } => {
                let route = self
                    .route_message(prefix, Some(target), ROUTE_METRIC)
                    .map_err(|reason| NetlinkError::Request {
                        what: what.clone(),
                        reason,
                    })?;
                (
                    RtMessage::Route(RouteNetlinkMessage::NewRoute(route)),
                    replace,
                )
            }
            Op::DeleteRoute { prefix, metric } => {
                let route = self
                    .route_message(prefix, None, *metric)
                    .map_err(|reason| NetlinkError::Request {
                        what: what.clone(),
                        reason,
                    })?;
                (
                    RtMessage::Route(RouteNetlinkMessage::DelRoute(route)),
                    NLM_F_ACK,
                )
            }
        };
        self.request(&what, message, flags).await.map(drop)
    }

    fn route_message(
        &self,
        prefix: &IpNet,
        target: Option<&Target>,
        metric: u32,
    ) -> Result<RouteMessage, String> {
        let mut builder = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(prefix.network(), prefix.prefix_len())
            .map_err(|e| e.to_string())?
            .table_id(u32::from(RouteHeader::RT_TABLE_MAIN))
            .protocol(RouteProtocol::from(self.protocol))
            .scope(RouteScope::Universe)
            .kind(RouteType::Unicast)
            .priority(metric);
        match target {
            None => {}
            Some(Target::Group(id)) => builder = builder.nhid(*id),
            Some(Target::Paths(paths)) => match paths.as_slice() {
                [(gateway, oif)] => {
                    builder = builder
                        .gateway(*gateway)
                        .map_err(|e| e.to_string())?
                        .output_interface(*oif);
                }
                _ => {
                    let family = family_of(prefix.addr());
                    let mut hops = Vec::with_capacity(paths.len());
                    for (gateway, oif) in paths {
                        hops.push(
                            RouteNextHopBuilder::new(family)
                                .interface(*oif)
                                .via(*gateway)
                                .map_err(|e| e.to_string())?
                                .build(),
                        );
                    }
                    builder = builder.multipath(hops);
                }
            },
        }
        Ok(builder.build())
    }
}

/// Whether `e` says the kernel has no nexthop objects.
fn unsupported(e: &NetlinkError) -> bool {
    matches!(
        e.errno(),
        Some(libc::EOPNOTSUPP | libc::EINVAL | libc::ENOENT)
    )
}

/// Collects a request's answers; an error answer fails the request.
async fn collect(
    what: &str,
    mut responses: impl Stream<Item = NetlinkMessage<RtMessage>> + Unpin,
) -> Result<Vec<RtMessage>, NetlinkError> {
    let mut messages = Vec::new();
    while let Some(message) = responses.next().await {
        match message.payload {
            NetlinkPayload::InnerMessage(m) => messages.push(m),
            NetlinkPayload::Error(e) => {
                if let Some(code) = e.code {
                    return Err(NetlinkError::Kernel {
                        what: what.to_owned(),
                        source: std::io::Error::from_raw_os_error(code.get().saturating_abs()),
                    });
                }
            }
            NetlinkPayload::Overrun(_) => {
                return Err(NetlinkError::Request {
                    what: what.to_owned(),
                    reason: "netlink receive buffer overrun".into(),
                })
            }
            _ => {}
        }
    }
    Ok(messages)
}

fn family_of(addr: IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

fn host_len(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}
