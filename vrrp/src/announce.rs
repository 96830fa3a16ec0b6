//! Gratuitous ARP on takeover, through an `AF_PACKET` socket that only sends (frames built
//! by `ferrolb-l2`).

use std::io;
use std::mem;
use std::net::Ipv4Addr;

use ferrolb_l2::packet::arp;
use ferrolb_l2::MacAddr;
use socket2::{Domain, SockAddr, SockAddrStorage, Socket, Type};

/// `ETH_P_ARP`.
const ETH_P_ARP: u16 = 0x0806;

/// Sends gratuitous ARP out of one interface.
#[derive(Debug)]
pub(crate) struct ArpAnnouncer {
    /// Never bound, so it receives nothing (protocol 0).
    socket: Socket,
    to: SockAddr,
    mac: MacAddr,
}

impl ArpAnnouncer {
    /// Opens the socket for interface `ifindex`, whose address is `mac`.
    pub(crate) fn open(ifindex: u32, mac: MacAddr) -> io::Result<ArpAnnouncer> {
        let socket = Socket::new(Domain::PACKET, Type::RAW, None)?;
        socket.set_nonblocking(true)?;
        let ifindex = i32::try_from(ifindex)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index"))?;
        Ok(ArpAnnouncer {
            socket,
            to: link_addr(ifindex, MacAddr::BROADCAST),
            mac,
        })
    }

    /// Broadcasts one gratuitous ARP request for `ip`. A full send buffer drops the frame
    /// (the next repetition follows shortly), so this never blocks.
    pub(crate) fn announce(&self, ip: Ipv4Addr) -> io::Result<()> {
        let frame = arp::gratuitous(self.mac, ip);
        self.socket.send_to(&frame, &self.to).map(drop)
    }
}

/// A `sockaddr_ll` naming interface `ifindex`, EtherType ARP and destination `dst`.
fn link_addr(ifindex: i32, dst: MacAddr) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `sockaddr_ll` is smaller than `sockaddr_storage` and valid when zeroed.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as libc::sa_family_t;
    ll.sll_protocol = ETH_P_ARP.to_be();
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
