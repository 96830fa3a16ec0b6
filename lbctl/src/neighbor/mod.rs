//! Asking an L2 segment who has an address, the way a client's kernel
//! does: an ARP request (IPv4) or a Neighbor Solicitation (IPv6) out of one
//! interface, then every answer collected for a while. Needs CAP_NET_RAW.

pub mod frame;
mod link;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read as _};
use std::mem;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use ferrolb_l2::MacAddr;
use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

pub use link::{link_for, links, Link};

/// `ETH_P_ALL`: receive every frame of the interface.
const ETH_P_ALL: u16 = 0x0003;
/// Frames received per probe at most, so a flooded segment cannot keep it
/// busy past its time.
const MAX_FRAMES: usize = 100_000;

/// The MACs that answered for each of `targets` on `link` within
/// `timeout` (an address nobody answered for maps to an empty set). Every
/// request goes out twice, at the start and half way, in case one is lost.
pub fn ask(
    link: &Link,
    targets: &[IpAddr],
    timeout: Duration,
) -> io::Result<BTreeMap<IpAddr, BTreeSet<MacAddr>>> {
    let our_mac = link.mac.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no hardware address", link.name),
        )
    })?;
    let requests = targets
        .iter()
        .map(|&target| request(link, our_mac, target))
        .collect::<io::Result<Vec<_>>>()?;
    let socket = Socket::new(
        Domain::PACKET,
        Type::RAW,
        Some(Protocol::from(i32::from(ETH_P_ALL.to_be()))),
    )?;
    socket.bind(&link_addr(link.index)?)?;
    let mut answers: BTreeMap<IpAddr, BTreeSet<MacAddr>> =
        targets.iter().map(|&t| (t, BTreeSet::new())).collect();
    let start = Instant::now();
    let mut resent = false;
    send_all(&socket, &requests)?;
    let mut buf = [0u8; 2048];
    for _ in 0..MAX_FRAMES {
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            break;
        }
        if !resent && elapsed >= timeout / 2 {
            resent = true;
            send_all(&socket, &requests)?;
        }
        let wait = if resent { timeout } else { timeout / 2 };
        socket.set_read_timeout(Some(
            wait.saturating_sub(elapsed).max(Duration::from_millis(1)),
        ))?;
        let len = match (&socket).read(&mut buf) {
            Ok(len) => len,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let Some(answer) = buf.get(..len).and_then(frame::parse_answer) else {
            continue;
        };
        // Our own requests come back to the socket; only others answer.
        if answer.mac == our_mac {
            continue;
        }
        if let Some(macs) = answers.get_mut(&answer.address) {
            macs.insert(answer.mac);
        }
    }
    Ok(answers)
}

/// The request asking for `target` from `link`.
fn request(link: &Link, our_mac: MacAddr, target: IpAddr) -> io::Result<Vec<u8>> {
    match (target, link.source_for(target)) {
        (IpAddr::V4(t), Some(IpAddr::V4(s))) => Ok(frame::arp_request(our_mac, s, t)),
        // An address probe (RFC 5227) from an interface without IPv4.
        (IpAddr::V4(t), _) => Ok(frame::arp_request(our_mac, Ipv4Addr::UNSPECIFIED, t)),
        (IpAddr::V6(t), Some(IpAddr::V6(s))) => Ok(frame::neighbor_solicitation(our_mac, s, t)),
        (IpAddr::V6(_), _) => Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("{} has no IPv6 address to ask from", link.name),
        )),
    }
}

fn send_all(socket: &Socket, frames: &[Vec<u8>]) -> io::Result<()> {
    for f in frames {
        socket.send(f)?;
    }
    Ok(())
}

/// A `sockaddr_ll` naming interface `index`, all protocols.
fn link_addr(index: u32) -> io::Result<SockAddr> {
    let ifindex = i32::try_from(index)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index"))?;
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `sockaddr_ll` is smaller than `sockaddr_storage` and valid
    // when zeroed.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as libc::sa_family_t;
    ll.sll_protocol = ETH_P_ALL.to_be();
    ll.sll_ifindex = ifindex;
    // SAFETY: the storage holds an initialised `sockaddr_ll` of this length.
    Ok(unsafe {
        SockAddr::new(
            storage,
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })
}
