//! TCP MD5 signatures (RFC 2385) through the Linux `TCP_MD5SIG` socket options.
//!
//! The kernel signs and checks every segment of a socket whose peer address has a key. Keys are
//! per socket: an outgoing socket needs the peer's key before `connect`, a listening socket one
//! key per peer address (or, with `TCP_MD5SIG_EXT`, per prefix for dynamic neighbours);
//! accepted sockets inherit the matching key. A segment with a wrong or missing signature is
//! dropped by the kernel, so a mismatched peer never gets past the SYN.

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};

use ipnet::IpNet;
use socket2::{Domain, SockAddr, SockRef};

/// The longest key the kernel accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_KEY_LEN: usize = libc::TCP_MD5SIG_MAXKEYLEN;

/// `TCP_MD5SIG_FLAG_PREFIX` from `linux/tcp.h`: the key covers `tcpm_prefixlen` bits.
const TCP_MD5SIG_FLAG_PREFIX: u8 = 0x1;

/// `struct tcp_md5sig` from `linux/tcp.h`.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefix_len: u8,
    key_len: u16,
    ifindex: libc::c_int,
    key: [u8; MAX_KEY_LEN],
}

/// Why a key could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum Md5Error {
    /// The key is longer than the kernel allows.
    #[error("TCP MD5 key for {peer} is {len} octets; the kernel allows at most {MAX_KEY_LEN}")]
    KeyTooLong {
        /// The peer (prefix).
        peer: IpNet,
        /// The key length.
        len: usize,
    },
    /// The kernel was built without TCP MD5 support (`CONFIG_TCP_MD5SIG`).
    #[error("this kernel does not support TCP MD5 signatures (CONFIG_TCP_MD5SIG)")]
    Unsupported,
    /// The kernel refused the key.
    #[error("cannot set the TCP MD5 key for {peer}: {source}")]
    Kernel {
        /// The peer (prefix).
        peer: IpNet,
        /// The error.
        source: io::Error,
    },
}

/// Installs `key` for `peer` (a host or a prefix) on `socket`; an empty key removes it.
///
/// A host route (/32 or /128) uses plain `TCP_MD5SIG`, anything shorter `TCP_MD5SIG_EXT` with
/// a prefix length. On an IPv6 socket an IPv4 peer is keyed by its v4-mapped address.
pub fn set_key(socket: &impl AsFd, peer: IpNet, key: &[u8]) -> Result<(), Md5Error> {
    if key.len() > MAX_KEY_LEN {
        return Err(Md5Error::KeyTooLong {
            peer,
            len: key.len(),
        });
    }
    let sock = SockRef::from(socket);
    let v6_socket = sock
        .domain()
        .map(|d| d == Domain::IPV6)
        .unwrap_or(peer.addr().is_ipv6());
    let (addr, prefix_len) = match (peer, v6_socket) {
        (IpNet::V4(n), true) => (IpAddr::V6(n.addr().to_ipv6_mapped()), n.prefix_len() + 96),
        (n, _) => (n.addr(), n.prefix_len()),
    };
    let host = prefix_len == max_prefix_len(addr);

    // SAFETY: `TcpMd5Sig` is plain old data; all-zero is a valid value for every field.
    let mut sig: TcpMd5Sig = unsafe { mem::zeroed() };
    let sockaddr = SockAddr::from(SocketAddr::new(addr, 0));
    // SAFETY: `sockaddr_storage` is large enough for any address `SockAddr` holds, and
    // `SockAddr::len` says how many bytes of it are valid.
    unsafe {
        std::ptr::copy_nonoverlapping(
            sockaddr.as_ptr().cast::<u8>(),
            (&mut sig.addr as *mut libc::sockaddr_storage).cast::<u8>(),
            sockaddr.len() as usize,
        );
    }
    sig.key[..key.len()].copy_from_slice(key);
    // The length was checked against MAX_KEY_LEN (80) above.
    sig.key_len = key.len() as u16;
    let option = if host {
        libc::TCP_MD5SIG
    } else {
        sig.flags = TCP_MD5SIG_FLAG_PREFIX;
        sig.prefix_len = prefix_len;
        libc::TCP_MD5SIG_EXT
    };
    // SAFETY: the pointer and length describe `sig`, which lives across the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            option,
            (&sig as *const TcpMd5Sig).cast::<libc::c_void>(),
            mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOPROTOOPT) => Err(Md5Error::Unsupported),
        // Removing a key that was never set is not an error.
        Some(libc::ENOENT) if key.is_empty() => Ok(()),
        _ => Err(Md5Error::Kernel { peer, source: err }),
    }
}

/// Removes the key for `peer` from `socket`.
pub fn remove_key(socket: &impl AsFd, peer: IpNet) -> Result<(), Md5Error> {
    set_key(socket, peer, &[])
}

fn max_prefix_len(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_matches_the_kernel_layout() {
        // linux/tcp.h: 128 (address) + 1 + 1 + 2 + 4 + 80.
        assert_eq!(mem::size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn keys_install_and_remove_on_real_sockets() {
        let v4 = socket2::Socket::new(Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let v6 = socket2::Socket::new(Domain::IPV6, socket2::Type::STREAM, None).unwrap();
        let host: IpNet = "192.0.2.7/32".parse().unwrap();
        let range: IpNet = "192.0.2.0/24".parse().unwrap();
        let host6: IpNet = "2001:db8::7/128".parse().unwrap();
        set_key(&v4, host, b"secret").unwrap();
        set_key(&v4, range, b"secret").unwrap();
        set_key(&v6, host6, b"secret").unwrap();
        set_key(&v6, host, b"mapped").unwrap();
        remove_key(&v4, host).unwrap();
        remove_key(&v4, host).unwrap();
        assert!(matches!(
            set_key(&v4, host, &[0; 81]),
            Err(Md5Error::KeyTooLong { len: 81, .. })
        ));
    }
}
