//! Gratuitous ARP (IPv4) or unsolicited Neighbor Advertisements (IPv6) on takeover, through
//! an `AF_PACKET` socket that only sends (whole frames, built by `ferrolb-l2`).

use std::io;
use std::mem;
use std::net::IpAddr;

use ferrolb_l2::packet::{arp, ndp};
use ferrolb_l2::MacAddr;
use socket2::{Domain, SockAddr, SockAddrStorage, Socket, Type};

/// `ETH_P_ARP`.
const ETH_P_ARP: u16 = 0x0806;
/// `ETH_P_IPV6`.
const ETH_P_IPV6: u16 = 0x86dd;

/// Announces addresses out of one interface.
#[derive(Debug)]
pub(crate) struct Announcer {
    /// Never bound, so it receives nothing (protocol 0).
    socket: Socket,
    ifindex: i32,
    mac: MacAddr,
}

impl Announcer {
    /// Opens the socket for interface `ifindex`, whose address is `mac`.
    pub(crate) fn open(ifindex: u32, mac: MacAddr) -> io::Result<Announcer> {
        let socket = Socket::new(Domain::PACKET, Type::RAW, None)?;
        socket.set_nonblocking(true)?;
        let ifindex = i32::try_from(ifindex)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index"))?;
        Ok(Announcer {
            socket,
            ifindex,
            mac,
        })
    }

    /// Sends one gratuitous ARP request (broadcast) or unsolicited Neighbor Advertisement
    /// (to all nodes, Override set) for `ip`. A full send buffer drops the frame (the next
    /// repetition follows shortly), so this never blocks.
    pub(crate) fn announce(&self, ip: IpAddr) -> io::Result<()> {
        let (frame, protocol) = match ip {
            IpAddr::V4(ip) => (arp::gratuitous(self.mac, ip), ETH_P_ARP),
            IpAddr::V6(ip) => (ndp::unsolicited_advertisement(self.mac, ip), ETH_P_IPV6),
        };
        let to = link_addr(self.ifindex, protocol, MacAddr::BROADCAST);
        self.socket.send_to(&frame, &to).map(drop)
    }
}

/// A `sockaddr_ll` naming interface `ifindex`, EtherType `protocol` and destination `dst`
/// (the frame carries its own Ethernet header; the kernel takes the interface from here).
fn link_addr(ifindex: i32, protocol: u16, dst: MacAddr) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `sockaddr_ll` is smaller than `sockaddr_storage` and valid when zeroed.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as libc::sa_family_t;
    ll.sll_protocol = protocol.to_be();
    ll.sll_ifindex = ifindex;
    ll.sll_halen = 6;
    ll.sll_addr[..6].copy_from_slice(&dst.0);
    // SAFETY: the storage holds an initialised `sockaddr_ll` of exactly this length.
    unsafe {
        SockAddr::new(
            storage,
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    }
}
