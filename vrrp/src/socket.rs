//! Raw IPv4 sockets for IP protocol 112 on one interface.
//!
//! Two sockets: the receiving one is bound only to the interface (a raw socket bound to an
//! address would no longer see packets sent to the multicast group); the sending one is also
//! bound to the interface's primary address, so advertisements always carry it as their
//! source (the RFC's tie-break), never a virtual address, and it drops everything it would
//! receive.

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, SockFilter, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::checksum::PROTOCOL;
use crate::packet::{MULTICAST_V4, TTL};

/// `BPF_RET | BPF_K` with k = 0: accept no bytes of any packet.
const DROP_ALL: u16 = 0x06;

/// The sockets of one instance.
#[derive(Debug)]
pub(crate) struct VrrpSocket {
    receiver: AsyncFd<Socket>,
    sender: AsyncFd<Socket>,
}

fn raw(interface: &str) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(i32::from(PROTOCOL))),
    )?;
    socket.set_nonblocking(true)?;
    socket.bind_device(Some(interface.as_bytes()))?;
    Ok(socket)
}

impl VrrpSocket {
    /// Opens the sockets on `interface` (index `ifindex`), sending from `primary`, and joins
    /// the VRRP group when `multicast`.
    pub(crate) fn open(
        interface: &str,
        ifindex: u32,
        primary: Ipv4Addr,
        multicast: bool,
    ) -> io::Result<VrrpSocket> {
        let receiver = raw(interface)?;
        if multicast {
            receiver
                .join_multicast_v4_n(&MULTICAST_V4, &InterfaceIndexOrAddress::Index(ifindex))?;
        }
        let sender = raw(interface)?;
        sender.attach_filter(&[SockFilter::new(DROP_ALL, 0, 0, 0)])?;
        sender.set_multicast_ttl_v4(u32::from(TTL))?;
        sender.set_ttl_v4(u32::from(TTL))?;
        sender.set_multicast_loop_v4(false)?;
        sender.set_multicast_if_v4(&primary)?;
        sender.bind(&SockAddr::from(SocketAddrV4::new(primary, 0)))?;
        // SAFETY: each AsyncFd owns its Socket, which keeps the descriptor open and
        // unchanged until both are dropped.
        let (receiver, sender) =
            unsafe { (AsyncFd::register(receiver)?, AsyncFd::register(sender)?) };
        Ok(VrrpSocket { receiver, sender })
    }

    /// Receives one datagram, IPv4 header included, into `buf`.
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.receiver
            .async_io(Interest::READABLE, |mut s| s.read(buf))
            .await
    }

    /// Sends one VRRP message to `destination` (the kernel adds the IP header).
    pub(crate) async fn send(&self, message: &[u8], destination: Ipv4Addr) -> io::Result<()> {
        let to = SockAddr::from(SocketAddrV4::new(destination, 0));
        self.sender
            .async_io(Interest::WRITABLE, |s| s.send_to(message, &to))
            .await
            .map(drop)
    }
}
