//! Raw IP sockets for IP protocol 112 on one interface, IPv4 or IPv6.
//!
//! Two sockets: the receiving one is bound only to the interface (a raw socket bound to an
//! address would no longer see packets sent to the multicast group); the sending one is also
//! bound to the router's primary address (IPv6: its link-local address), so advertisements
//! always carry it as their source (the RFC's tie-break), never a virtual address, and it
//! drops everything it would receive.
//!
//! An IPv4 raw socket delivers the IP header, where the TTL is; an IPv6 one does not, so the
//! hop limit and the destination come as control messages (`IPV6_RECVHOPLIMIT`,
//! `IPV6_RECVPKTINFO`).

use std::io::{self, Read};
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, SockFilter, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::checksum::PROTOCOL;
use crate::packet::{
    decode_ipv4, decode_ipv6, PacketError, Received, MULTICAST_V4, MULTICAST_V6, TTL,
};

/// `BPF_RET | BPF_K` with k = 0: accept no bytes of any packet.
const DROP_ALL: u16 = 0x06;
/// Room for the control messages of one IPv6 datagram (hop limit and packet info).
const CONTROL_LEN: usize = 128;

/// The sockets of one instance.
#[derive(Debug)]
pub(crate) struct VrrpSocket {
    receiver: AsyncFd<Socket>,
    sender: AsyncFd<Socket>,
    ipv6: bool,
    /// The scope of IPv6 destinations (link-local and multicast): the interface.
    scope: u32,
}

/// Where and how the sockets are opened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoints<'a> {
    /// The interface advertisements are received on.
    pub interface: &'a str,
    /// Its index.
    pub ifindex: u32,
    /// The interface advertisements are sent out of: the interface itself, or its virtual
    /// MAC macvlan, so advertisements carry the virtual MAC as their Ethernet source.
    pub send_interface: &'a str,
    /// The source address of advertisements.
    pub primary: IpAddr,
    /// Whether to join the VRRP group (else unicast peers only).
    pub multicast: bool,
}

fn raw(domain: Domain, interface: &str) -> io::Result<Socket> {
    let socket = Socket::new(domain, Type::RAW, Some(Protocol::from(i32::from(PROTOCOL))))?;
    socket.set_nonblocking(true)?;
    socket.bind_device(Some(interface.as_bytes()))?;
    Ok(socket)
}

/// Sets an integer IPv6 socket option socket2 has no setter for.
fn set_ipv6_flag(socket: &Socket, option: libc::c_int) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: the pointer and length describe a live c_int.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            option,
            (&on as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl VrrpSocket {
    /// Opens the sockets of `at`.
    pub(crate) fn open(at: Endpoints<'_>) -> io::Result<VrrpSocket> {
        let (receiver, sender) = match at.primary {
            IpAddr::V4(primary) => Self::open_v4(at, primary)?,
            IpAddr::V6(primary) => Self::open_v6(at, primary)?,
        };
        sender.attach_filter(&[SockFilter::new(DROP_ALL, 0, 0, 0)])?;
        // SAFETY: each AsyncFd owns its Socket, which keeps the descriptor open and
        // unchanged until both are dropped.
        let (receiver, sender) =
            unsafe { (AsyncFd::register(receiver)?, AsyncFd::register(sender)?) };
        Ok(VrrpSocket {
            receiver,
            sender,
            ipv6: at.primary.is_ipv6(),
            scope: at.ifindex,
        })
    }

    fn open_v4(at: Endpoints<'_>, primary: Ipv4Addr) -> io::Result<(Socket, Socket)> {
        let receiver = raw(Domain::IPV4, at.interface)?;
        if at.multicast {
            receiver
                .join_multicast_v4_n(&MULTICAST_V4, &InterfaceIndexOrAddress::Index(at.ifindex))?;
        }
        let sender = raw(Domain::IPV4, at.send_interface)?;
        sender.set_multicast_ttl_v4(u32::from(TTL))?;
        sender.set_ttl_v4(u32::from(TTL))?;
        sender.set_multicast_loop_v4(false)?;
        if at.send_interface == at.interface {
            // On another device (the virtual MAC's macvlan) the binding alone picks the
            // output; the kernel refuses a multicast interface other than the bound one.
            sender.set_multicast_if_v4(&primary)?;
        }
        sender.bind(&SockAddr::from(SocketAddrV4::new(primary, 0)))?;
        Ok((receiver, sender))
    }

    fn open_v6(at: Endpoints<'_>, primary: Ipv6Addr) -> io::Result<(Socket, Socket)> {
        let receiver = raw(Domain::IPV6, at.interface)?;
        set_ipv6_flag(&receiver, libc::IPV6_RECVHOPLIMIT)?;
        set_ipv6_flag(&receiver, libc::IPV6_RECVPKTINFO)?;
        if at.multicast {
            receiver.join_multicast_v6(&MULTICAST_V6, at.ifindex)?;
        }
        let sender = raw(Domain::IPV6, at.send_interface)?;
        sender.set_multicast_hops_v6(u32::from(TTL))?;
        sender.set_unicast_hops_v6(u32::from(TTL))?;
        sender.set_multicast_loop_v6(false)?;
        sender.set_multicast_if_v6(at.ifindex)?;
        sender.bind(&SockAddr::from(SocketAddrV6::new(
            primary, 0, 0, at.ifindex,
        )))?;
        Ok((receiver, sender))
    }

    /// Receives one datagram into `buf` and applies the receive checks: `Ok(Err(_))` is a
    /// packet that failed them.
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<Result<Received, PacketError>> {
        if !self.ipv6 {
            let n = self
                .receiver
                .async_io(Interest::READABLE, |mut s| s.read(buf))
                .await?;
            return Ok(decode_ipv4(buf.get(..n).unwrap_or_default()));
        }
        let (n, facts) = self
            .receiver
            .async_io(Interest::READABLE, |s| recv_v6(s, buf))
            .await?;
        let message = buf.get(..n).unwrap_or_default();
        Ok(match facts {
            Some((source, destination, hop_limit)) => {
                decode_ipv6(source, destination, hop_limit, message)
            }
            // Without the hop limit the packet cannot be checked: it fails the TTL check.
            None => Err(PacketError::BadTtl(0)),
        })
    }

    /// Sends one VRRP message to `destination` (the kernel adds the IP header).
    pub(crate) async fn send(&self, message: &[u8], destination: IpAddr) -> io::Result<()> {
        let to = match destination {
            IpAddr::V4(d) => SockAddr::from(SocketAddrV4::new(d, 0)),
            IpAddr::V6(d) => SockAddr::from(SocketAddrV6::new(d, 0, 0, self.scope)),
        };
        self.sender
            .async_io(Interest::WRITABLE, |s| s.send_to(message, &to))
            .await
            .map(drop)
    }
}

/// The IP header facts of a received IPv6 datagram: source, destination, hop limit.
type Ipv6Facts = (Ipv6Addr, Ipv6Addr, u8);

/// `recvmsg` on an IPv6 raw socket: the length, and the header facts when the kernel
/// supplied them.
fn recv_v6(socket: &Socket, buf: &mut [u8]) -> io::Result<(usize, Option<Ipv6Facts>)> {
    // SAFETY: all-zero is a valid sockaddr_in6.
    let mut from: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    let mut control = [0u8; CONTROL_LEN];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: all-zero is a valid msghdr; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = control.len();
    // SAFETY: msg describes valid, writable buffers of the stated sizes.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, 0) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    let source = Ipv6Addr::from(from.sin6_addr.s6_addr);
    let (mut hop_limit, mut destination) = (None, None);
    // SAFETY: the kernel filled `control` up to msg_controllen with well-formed cmsgs; the
    // CMSG_* macros stay within it, and each payload is read unaligned at its own size.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let (level, kind) = ((*cmsg).cmsg_level, (*cmsg).cmsg_type);
            let data = libc::CMSG_DATA(cmsg);
            if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_HOPLIMIT {
                let value = std::ptr::read_unaligned(data.cast::<libc::c_int>());
                hop_limit = u8::try_from(value).ok();
            } else if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_PKTINFO {
                let info = std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                destination = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    let facts = match (hop_limit, destination) {
        (Some(h), Some(d)) => Some((source, d, h)),
        _ => None,
    };
    Ok((n, facts))
}
