//! An `AF_PACKET` raw socket bound to one interface, filtered by [`crate::bpf`], driven by
//! tokio's `AsyncFd`.

use std::io::{self, Read};
use std::mem;
use std::net::Ipv6Addr;

use socket2::{Domain, SockAddr, SockAddrStorage, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::bpf;
use crate::mac::{ipv6_multicast_mac, MacAddr};

/// `ETH_P_ALL`: the filter, not the protocol, picks ARP and IPv6.
const ETH_P_ALL: u16 = 0x0003;

/// A packet socket on one interface.
#[derive(Debug)]
pub(crate) struct PacketSocket {
    fd: AsyncFd<Socket>,
    ifindex: i32,
    /// An IPv6 socket holding solicited-node group memberships, so the kernel sends MLD reports
    /// for them (MLD-snooping switches forward the solicitations only then); `None` where
    /// IPv6 is disabled.
    mld: Option<Socket>,
}

impl PacketSocket {
    /// Opens a socket that receives nothing yet: protocol 0 until bound, so no frame slips in
    /// before the filter is attached.
    fn unbound() -> io::Result<Socket> {
        let socket = Socket::new(Domain::PACKET, Type::RAW, None)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    }

    /// Checks that packet sockets can be opened at all (CAP_NET_RAW).
    pub(crate) fn probe() -> io::Result<()> {
        Self::unbound().map(drop)
    }

    /// Opens, filters and binds a socket to interface `ifindex`.
    pub(crate) fn open(ifindex: u32) -> io::Result<PacketSocket> {
        let ifindex = i32::try_from(ifindex)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index"))?;
        let socket = Self::unbound()?;
        socket.attach_filter(&bpf::sock_filters())?;
        socket.bind(&link_addr(ifindex, ETH_P_ALL))?;
        let mld = Socket::new(Domain::IPV6, Type::DGRAM, None)
            .inspect_err(|e| tracing::debug!(ifindex, error = %e, "no IPv6 socket for MLD"))
            .ok();
        Ok(PacketSocket {
            mld,
            // SAFETY: the AsyncFd owns the Socket, which keeps its descriptor open and
            // unchanged until both are dropped.
            fd: unsafe { AsyncFd::register(socket) }?,
            ifindex,
        })
    }

    /// Receives one frame into `buf`, returning its length (truncated to `buf`).
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd
            .async_io(Interest::READABLE, |mut s| s.read(buf))
            .await
    }

    /// Sends one complete Ethernet frame out of the interface.
    pub(crate) async fn send(&self, frame: &[u8]) -> io::Result<()> {
        let sent = self
            .fd
            .async_io(Interest::WRITABLE, |s| s.send(frame))
            .await?;
        if sent != frame.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
        }
        Ok(())
    }

    /// Subscribes the interface to the solicited-node multicast `group` for as long as the
    /// socket is open (or until [`PacketSocket::leave`]): at the link layer, so the NIC's filter
    /// lets the solicitations through, and as an IPv6 group, so the kernel announces it with MLD.
    pub(crate) fn join(&self, group: Ipv6Addr) -> io::Result<()> {
        self.membership(libc::PACKET_ADD_MEMBERSHIP, ipv6_multicast_mac(group))?;
        if let Some(mld) = &self.mld {
            // Best effort: the link-layer membership alone serves unsnooped segments.
            if let Err(e) = mld.join_multicast_v6(&group, self.ifindex.unsigned_abs()) {
                tracing::debug!(%group, error = %e, "joining IPv6 group");
            }
        }
        Ok(())
    }

    /// Undoes [`PacketSocket::join`].
    pub(crate) fn leave(&self, group: Ipv6Addr) -> io::Result<()> {
        if let Some(mld) = &self.mld {
            let _ = mld.leave_multicast_v6(&group, self.ifindex.unsigned_abs());
        }
        self.membership(libc::PACKET_DROP_MEMBERSHIP, ipv6_multicast_mac(group))
    }

    fn membership(&self, option: libc::c_int, mac: MacAddr) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut mreq = libc::packet_mreq {
            mr_ifindex: self.ifindex,
            mr_type: libc::PACKET_MR_MULTICAST as libc::c_ushort,
            mr_alen: 6,
            mr_address: [0; 8],
        };
        mreq.mr_address[..6].copy_from_slice(&mac.0);
        // SAFETY: the descriptor is open for the lifetime of `self`; the option value points at
        // a live `packet_mreq` of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.get_ref().as_raw_fd(),
                libc::SOL_PACKET,
                option,
                (&raw const mreq).cast(),
                mem::size_of::<libc::packet_mreq>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// A `sockaddr_ll` naming interface `ifindex` and EtherType `protocol`.
fn link_addr(ifindex: i32, protocol: u16) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `sockaddr_ll` is smaller than `sockaddr_storage` and valid when zeroed.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as libc::sa_family_t;
    ll.sll_protocol = protocol.to_be();
    ll.sll_ifindex = ifindex;
    // SAFETY: the storage holds an initialised `sockaddr_ll` of exactly this length.
    unsafe {
        SockAddr::new(
            storage,
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    }
}
