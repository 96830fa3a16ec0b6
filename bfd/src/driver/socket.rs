//! UDP sockets for BFD: the listeners on the well-known ports, which report each packet's
//! TTL / hop limit, destination address and interface, and the per-session senders (RFC 5881
//! section 4: source port 49152-65535, TTL 255).

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};

use rand::Rng;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::error::BfdError;

/// TTL / hop limit of every packet we send (RFC 5881 section 5; RFC 5883 leaves it open).
pub const SEND_TTL: u32 = 255;
/// The source ports RFC 5881 section 4 prescribes.
const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;
/// How many random source ports to try before giving up.
const BIND_ATTEMPTS: usize = 64;
/// DSCP CS6 (network control), as the other BFD implementations mark their packets.
const TOS_CS6: u32 = 0xc0;

/// One received datagram and what the kernel told about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    /// Octets received (the buffer may hold fewer if the datagram was truncated).
    pub len: usize,
    /// The sender.
    pub source: SocketAddr,
    /// The destination address (IP_PKTINFO / IPV6_PKTINFO).
    pub destination: Option<IpAddr>,
    /// The receiving interface's index.
    pub ifindex: Option<u32>,
    /// The IP TTL or IPv6 hop limit it arrived with.
    pub ttl: Option<u8>,
}

fn set_int_option(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a live c_int and the length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A non-blocking listener on `port` of every address of `family` (IPv4 or IPv6-only) that
/// reports TTL, destination and interface with each datagram.
pub fn listener(ipv6: bool, port: u16) -> Result<Socket, BfdError> {
    let context = |what: &str| {
        format!(
            "BFD listener on {} port {port}: {what}",
            if ipv6 { "IPv6" } else { "IPv4" }
        )
    };
    let (domain, addr) = if ipv6 {
        (
            Domain::IPV6,
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        )
    } else {
        (
            Domain::IPV4,
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        )
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| BfdError::io(context("socket"), e))?;
    let fd = socket.as_raw_fd();
    let options = if ipv6 {
        socket
            .set_only_v6(true)
            .map_err(|e| BfdError::io(context("IPV6_V6ONLY"), e))?;
        [
            (libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT),
            (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO),
        ]
    } else {
        [
            (libc::IPPROTO_IP, libc::IP_RECVTTL),
            (libc::IPPROTO_IP, libc::IP_PKTINFO),
        ]
    };
    for (level, name) in options {
        set_int_option(fd, level, name, 1)
            .map_err(|e| BfdError::io(context("enabling ancillary data"), e))?;
    }
    socket
        .set_nonblocking(true)
        .map_err(|e| BfdError::io(context("non-blocking"), e))?;
    socket
        .bind(&addr.into())
        .map_err(|e| BfdError::io(context("bind"), e))?;
    Ok(socket)
}

/// A non-blocking sender from `local` (a random port in 49152-65535) with TTL 255, bound to
/// `interface` when given.
pub fn sender(local: IpAddr, interface: Option<&str>) -> io::Result<Socket> {
    let domain = if local.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if local.is_ipv6() {
        socket.set_unicast_hops_v6(SEND_TTL)?;
        set_int_option(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_TCLASS,
            TOS_CS6 as libc::c_int,
        )?;
    } else {
        socket.set_ttl_v4(SEND_TTL)?;
        socket.set_tos_v4(TOS_CS6)?;
    }
    if let Some(name) = interface {
        socket.bind_device(Some(name.as_bytes()))?;
    }
    socket.set_nonblocking(true)?;
    let mut rng = rand::thread_rng();
    let mut last = io::Error::from(io::ErrorKind::AddrInUse);
    for _ in 0..BIND_ATTEMPTS {
        let port = rng.gen_range(SOURCE_PORTS);
        match socket.bind(&SockAddr::from(SocketAddr::new(local, port))) {
            Ok(()) => return Ok(socket),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Receives one datagram into `buf` without blocking (`WouldBlock` when there is none).
pub fn receive(socket: &Socket, buf: &mut [u8]) -> io::Result<Datagram> {
    // SAFETY: all-zero is a valid sockaddr_storage and msghdr.
    let mut addr: libc::sockaddr_storage = unsafe { mem::zeroed() };
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 32];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&mut addr as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control) as _;
    // SAFETY: every pointer in `msg` refers to a live buffer of the stated length.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, 0) };
    let len = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    let source = source_address(&addr).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "unexpected source address family",
        )
    })?;
    let mut datagram = Datagram {
        len,
        source,
        destination: None,
        ifindex: None,
        ttl: None,
    };
    // SAFETY: `msg` was filled in by recvmsg; the CMSG macros stay within msg_controllen.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: non-null headers from CMSG_FIRSTHDR/NXTHDR point into `control`.
        let header = unsafe { &*cmsg };
        // SAFETY: the data of a header starts right after it, within the buffer.
        let data = unsafe { libc::CMSG_DATA(cmsg) };
        let room = (header.cmsg_len as usize).saturating_sub(data as usize - cmsg as usize);
        match (header.cmsg_level, header.cmsg_type) {
            (libc::IPPROTO_IP, libc::IP_TTL) | (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT)
                if room >= mem::size_of::<libc::c_int>() =>
            {
                // SAFETY: checked that a c_int fits; read_unaligned copes with any alignment.
                let ttl = unsafe { std::ptr::read_unaligned(data.cast::<libc::c_int>()) };
                datagram.ttl = u8::try_from(ttl).ok();
            }
            (libc::IPPROTO_IP, libc::IP_PKTINFO) if room >= mem::size_of::<libc::in_pktinfo>() => {
                // SAFETY: checked that the structure fits.
                let info = unsafe { std::ptr::read_unaligned(data.cast::<libc::in_pktinfo>()) };
                datagram.destination = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    info.ipi_addr.s_addr,
                ))));
                datagram.ifindex = u32::try_from(info.ipi_ifindex).ok();
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
                if room >= mem::size_of::<libc::in6_pktinfo>() =>
            {
                // SAFETY: checked that the structure fits.
                let info = unsafe { std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>()) };
                datagram.destination = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                datagram.ifindex = Some(info.ipi6_ifindex);
            }
            _ => {}
        }
        // SAFETY: `cmsg` is a valid header of `msg`.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok(datagram)
}

fn source_address(addr: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let sin =
                unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let sin6 =
                unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::new(
                IpAddr::V6(ip),
                u16::from_be(sin6.sin6_port),
            ))
        }
        _ => None,
    }
}

/// The index of interface `name` in the current network namespace.
pub fn interface_index(name: &str) -> Option<u32> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_datagrams_carry_ttl_destination_and_interface() {
        for (ipv6, local) in [
            (false, IpAddr::V4(Ipv4Addr::LOCALHOST)),
            (true, IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ] {
            let rx = listener(ipv6, 0).unwrap();
            let port = rx.local_addr().unwrap().as_socket().unwrap().port();
            let tx = sender(local, None).unwrap();
            let from = tx.local_addr().unwrap().as_socket().unwrap();
            assert!(SOURCE_PORTS.contains(&from.port()));
            tx.send_to(b"hello", &SocketAddr::new(local, port).into())
                .unwrap();
            let mut buf = [0u8; 64];
            let d = loop {
                match receive(&rx, &mut buf) {
                    Ok(d) => break d,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(std::time::Duration::from_millis(1))
                    }
                    Err(e) => panic!("{e}"),
                }
            };
            assert_eq!(&buf[..d.len], b"hello");
            assert_eq!(
                (d.source, d.destination, d.ttl),
                (from, Some(local), Some(255))
            );
            assert_eq!(d.ifindex, interface_index("lo"));
        }
    }
}
