//! Socket options for BGP connections and listeners, and the outgoing connect.

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};

use ipnet::IpNet;
use socket2::{Domain, SockRef, Socket, Type};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::config::{PeerConfig, TtlMode};
use super::error::SessionError;
use super::md5;

/// DSCP CS6 ("network control") in the TOS / traffic class octet, as routers mark BGP.
pub const TOS_CS6: u32 = 0xc0;

/// The TTL / hop limit that GTSM sends with and measures from.
pub const GTSM_TTL: u8 = 255;

fn option_error(option: &'static str) -> impl FnOnce(io::Error) -> SessionError {
    move |source| SessionError::SocketOption { option, source }
}

fn set_int(
    socket: &impl AsFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the pointer and length describe `value`, which lives across the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_fd().as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast::<libc::c_void>(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the outgoing TTL (hop limit) of a socket.
fn set_ttl(socket: &impl AsFd, v6: bool, ttl: u8) -> Result<(), SessionError> {
    let sock = SockRef::from(socket);
    if v6 {
        sock.set_unicast_hops_v6(u32::from(ttl))
            .map_err(option_error("IPV6_UNICAST_HOPS"))
    } else {
        sock.set_ttl_v4(u32::from(ttl))
            .map_err(option_error("IP_TTL"))
    }
}

/// Applies the per-session options: TCP_NODELAY, DSCP CS6 and the TTL mode.
pub fn configure_session(socket: &impl AsFd, v6: bool, ttl: TtlMode) -> Result<(), SessionError> {
    let sock = SockRef::from(socket);
    // BGP messages are complete when written; batching happens in our own write buffer.
    sock.set_tcp_nodelay(true)
        .map_err(option_error("TCP_NODELAY"))?;
    if v6 {
        sock.set_tclass_v6(TOS_CS6)
            .map_err(option_error("IPV6_TCLASS"))?;
    } else {
        sock.set_tos_v4(TOS_CS6).map_err(option_error("IP_TOS"))?;
    }
    match ttl {
        TtlMode::Default => Ok(()),
        TtlMode::Multihop { ttl } => set_ttl(socket, v6, ttl),
        TtlMode::Gtsm { .. } => {
            set_ttl(socket, v6, GTSM_TTL)?;
            set_min_ttl(socket, v6, ttl.min_ttl())
        }
    }
}

/// Sets the smallest TTL (hop limit) accepted on a socket; 0 accepts any.
pub fn set_min_ttl(socket: &impl AsFd, v6: bool, min: u8) -> Result<(), SessionError> {
    let min = libc::c_int::from(min);
    if v6 {
        set_int(socket, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, min)
            .map_err(option_error("IPV6_MINHOPCOUNT"))
    } else {
        set_int(socket, libc::IPPROTO_IP, libc::IP_MINTTL, min).map_err(option_error("IP_MINTTL"))
    }
}

/// The key prefix for one peer address.
pub fn host_prefix(addr: IpAddr) -> IpNet {
    IpNet::from(addr)
}

/// Opens an outgoing connection to the peer: source address bound, MD5 key and session
/// options set before `connect`, bounded by the configured connect timeout.
pub async fn connect(config: &PeerConfig) -> Result<TcpStream, ConnectError> {
    let v6 = config.address.is_ipv6();
    let socket = if v6 {
        TcpSocket::new_v6()
    } else {
        TcpSocket::new_v4()
    }
    .map_err(ConnectError::Io)?;
    if let Some(local) = config.local_address {
        socket
            .bind(SocketAddr::new(local, 0))
            .map_err(ConnectError::Io)?;
    }
    if let Some(password) = &config.md5_password {
        md5::set_key(&socket, host_prefix(config.address), password.as_bytes())
            .map_err(|e| ConnectError::Setup(e.into()))?;
    }
    configure_session(&socket, v6, config.ttl).map_err(ConnectError::Setup)?;
    match tokio::time::timeout(
        config.connect_timeout,
        socket.connect(config.remote_socket_addr()),
    )
    .await
    {
        Ok(result) => result.map_err(ConnectError::Io),
        Err(_) => Err(ConnectError::Timeout),
    }
}

/// Why an outgoing connection failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The socket could not be prepared (MD5 key, socket options).
    #[error(transparent)]
    Setup(SessionError),
    /// The connection failed.
    #[error(transparent)]
    Io(io::Error),
    /// The connection did not complete within the connect timeout.
    #[error("connect timed out")]
    Timeout,
}

/// A listening socket for BGP: SO_REUSEADDR, IPv6 only for IPv6 addresses (bind `0.0.0.0`
/// and `::` separately), and TTL 255 so SYN-ACKs reach peers that check GTSM.
pub fn bind_listener(addr: SocketAddr) -> Result<TcpListener, SessionError> {
    let bind_error = |source| SessionError::Bind { addr, source };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(bind_error)?;
    socket
        .set_reuse_address(true)
        .map_err(option_error("SO_REUSEADDR"))?;
    if addr.is_ipv6() {
        socket
            .set_only_v6(true)
            .map_err(option_error("IPV6_V6ONLY"))?;
    }
    set_ttl(&socket, addr.is_ipv6(), GTSM_TTL)?;
    socket.set_nonblocking(true).map_err(bind_error)?;
    socket.bind(&addr.into()).map_err(bind_error)?;
    socket.listen(128).map_err(bind_error)?;
    TcpListener::from_std(socket.into()).map_err(bind_error)
}

/// Checks that this kernel accepts an MD5 key for `peer`, so that a configuration it cannot
/// honour fails when the peer is added rather than on every connection attempt.
pub fn probe_md5(peer: IpAddr, password: &str) -> Result<(), SessionError> {
    let domain = if peer.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let socket = Socket::new(domain, Type::STREAM, None).map_err(option_error("socket"))?;
    md5::set_key(&socket, host_prefix(peer), password.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get_int(socket: &impl AsFd, level: libc::c_int, name: libc::c_int) -> libc::c_int {
        let mut value: libc::c_int = 0;
        let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: the pointers describe `value` and `len`, which live across the call.
        let rc = unsafe {
            libc::getsockopt(
                socket.as_fd().as_raw_fd(),
                level,
                name,
                (&mut value as *mut libc::c_int).cast::<libc::c_void>(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        value
    }

    #[test]
    fn session_options_reach_the_kernel() {
        // (v6, mode, ttl, minttl)
        let cases = [
            (false, TtlMode::Gtsm { hops: 1 }, 255, 255),
            (false, TtlMode::Gtsm { hops: 3 }, 255, 253),
            (false, TtlMode::Multihop { ttl: 4 }, 4, 0),
            (true, TtlMode::Gtsm { hops: 2 }, 255, 254),
            (true, TtlMode::Multihop { ttl: 1 }, 1, 0),
        ];
        for (v6, mode, ttl, min) in cases {
            let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
            let s = Socket::new(domain, Type::STREAM, None).unwrap();
            configure_session(&s, v6, mode).unwrap();
            assert!(s.tcp_nodelay().unwrap());
            if v6 {
                assert_eq!(
                    get_int(&s, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS),
                    ttl,
                    "{mode:?}"
                );
                assert_eq!(
                    get_int(&s, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT),
                    min,
                    "{mode:?}"
                );
                assert_eq!(get_int(&s, libc::IPPROTO_IPV6, libc::IPV6_TCLASS), 0xc0);
            } else {
                assert_eq!(get_int(&s, libc::IPPROTO_IP, libc::IP_TTL), ttl, "{mode:?}");
                assert_eq!(
                    get_int(&s, libc::IPPROTO_IP, libc::IP_MINTTL),
                    min,
                    "{mode:?}"
                );
                assert_eq!(get_int(&s, libc::IPPROTO_IP, libc::IP_TOS), 0xc0);
            }
        }
    }

    #[tokio::test]
    async fn listener_options() {
        let l = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        assert_eq!(get_int(&l, libc::SOL_SOCKET, libc::SO_REUSEADDR), 1);
        assert_eq!(get_int(&l, libc::IPPROTO_IP, libc::IP_TTL), 255);
        let l6 = bind_listener("[::1]:0".parse().unwrap()).unwrap();
        assert_eq!(get_int(&l6, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY), 1);
    }

    #[tokio::test]
    async fn gtsm_rejects_a_peer_too_many_hops_away() {
        // The listener side demands TTL 255; a client sending with TTL 64 never gets through.
        let listener = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        set_int(&listener, libc::IPPROTO_IP, libc::IP_MINTTL, 255).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = PeerConfig::new(addr.ip(), 1, 2, "10.0.0.1".parse().unwrap());
        config.port = addr.port();
        config.connect_timeout = std::time::Duration::from_millis(500);
        config.ttl = TtlMode::Multihop { ttl: 64 };
        assert!(matches!(connect(&config).await, Err(ConnectError::Timeout)));
        config.ttl = TtlMode::Gtsm { hops: 1 };
        connect(&config).await.unwrap();
    }
}
