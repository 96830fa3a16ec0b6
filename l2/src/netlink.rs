//! The node's interfaces, read with an rtnetlink link dump (`RTM_GETLINK`).
//!
//! Netlink rather than `/sys/class/net`: sysfs shows the interfaces of the namespace it was
//! mounted in, while a netlink socket belongs to the namespace it was created in, which is the
//! one the announcer serves. The dump parser is pure and tested on hand-built messages.

use std::io::{self, Read};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::mac::MacAddr;
use crate::policy::{LinkFacts, LinkKind};

const NLMSG_HEADER_LEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const IFF_UP: u32 = 0x1;
const IFF_LOWER_UP: u32 = 0x1_0000;
/// A dump answer is a series of datagrams of at most a few pages each.
const RECV_BUFFER: usize = 64 * 1024;
/// A dump that takes longer than this is abandoned (it normally takes microseconds).
const DUMP_TIMEOUT: Duration = Duration::from_secs(2);

/// One interface of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Kernel interface index.
    pub index: u32,
    /// Hardware address, if the link has one of Ethernet size.
    pub mac: Option<MacAddr>,
    /// The facts eligibility is decided on.
    pub facts: LinkFacts,
}

/// Errors reading the link table.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// A socket call failed.
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    /// The kernel answered the dump with an error.
    #[error("RTM_GETLINK failed: {0}")]
    Kernel(io::Error),
    /// A message was shorter than its header says or than a header.
    #[error("malformed netlink message")]
    Malformed,
    /// The dump did not finish in time.
    #[error("link dump timed out")]
    Timeout,
}

/// Whether a datagram ended the dump.
#[derive(Debug, PartialEq, Eq)]
enum Progress {
    More,
    Done,
}

/// A netlink route socket for link dumps, created in the caller's network namespace.
#[derive(Debug)]
pub(crate) struct LinkReader {
    socket: AsyncFd<Socket>,
    seq: u32,
}

impl LinkReader {
    /// Opens the socket (in the network namespace of the calling thread).
    pub(crate) fn open() -> io::Result<LinkReader> {
        let socket = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::RAW,
            Some(Protocol::from(libc::NETLINK_ROUTE)),
        )?;
        socket.set_nonblocking(true)?;
        Ok(LinkReader {
            // SAFETY: the AsyncFd owns the Socket, which keeps its descriptor open and
            // unchanged until both are dropped.
            socket: unsafe { AsyncFd::register(socket) }?,
            seq: 0,
        })
    }

    /// Lists all interfaces.
    pub(crate) async fn links(&mut self) -> Result<Vec<Link>, NetlinkError> {
        tokio::time::timeout(DUMP_TIMEOUT, self.dump())
            .await
            .map_err(|_| NetlinkError::Timeout)?
    }

    async fn dump(&mut self) -> Result<Vec<Link>, NetlinkError> {
        self.seq = self.seq.wrapping_add(1);
        let request = dump_request(self.seq);
        self.socket
            .async_io(Interest::WRITABLE, |s| s.send(&request))
            .await?;
        let mut links = Vec::new();
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            let n = self
                .socket
                .async_io(Interest::READABLE, |mut s| s.read(&mut buf))
                .await?;
            let datagram = buf.get(..n).ok_or(NetlinkError::Malformed)?;
            if parse_dump(datagram, self.seq, &mut links)? == Progress::Done {
                return Ok(links);
            }
        }
    }
}

/// `RTM_GETLINK` with `NLM_F_DUMP`: a netlink header and an empty `ifinfomsg`.
fn dump_request(seq: u32) -> Vec<u8> {
    let len = (NLMSG_HEADER_LEN + IFINFOMSG_LEN) as u32;
    let mut msg = Vec::with_capacity(NLMSG_HEADER_LEN + IFINFOMSG_LEN);
    msg.extend_from_slice(&len.to_ne_bytes());
    msg.extend_from_slice(&RTM_GETLINK.to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&[0; IFINFOMSG_LEN]);
    msg
}

/// Appends the links in one dump datagram to `links`; messages of other sequence numbers are
/// skipped.
fn parse_dump(
    mut datagram: &[u8],
    seq: u32,
    links: &mut Vec<Link>,
) -> Result<Progress, NetlinkError> {
    while datagram.len() >= NLMSG_HEADER_LEN {
        let len = ne32(datagram, 0).ok_or(NetlinkError::Malformed)? as usize;
        let kind = ne16(datagram, 4).ok_or(NetlinkError::Malformed)?;
        let msg_seq = ne32(datagram, 8).ok_or(NetlinkError::Malformed)?;
        if len < NLMSG_HEADER_LEN {
            return Err(NetlinkError::Malformed);
        }
        let body = datagram
            .get(NLMSG_HEADER_LEN..len)
            .ok_or(NetlinkError::Malformed)?;
        if msg_seq == seq {
            match kind {
                NLMSG_DONE => return Ok(Progress::Done),
                NLMSG_ERROR => {
                    let errno = ne32(body, 0).ok_or(NetlinkError::Malformed)? as i32;
                    if errno == 0 {
                        // An acknowledgement, which also ends the answer.
                        return Ok(Progress::Done);
                    }
                    return Err(NetlinkError::Kernel(io::Error::from_raw_os_error(-errno)));
                }
                RTM_NEWLINK => links.push(parse_link(body)?),
                _ => {}
            }
        }
        datagram = datagram.get(align4(len)..).unwrap_or_default();
    }
    Ok(Progress::More)
}

/// Parses the body of an `RTM_NEWLINK` message: `ifinfomsg` then attributes.
fn parse_link(body: &[u8]) -> Result<Link, NetlinkError> {
    let link_type = ne16(body, 2).ok_or(NetlinkError::Malformed)?;
    let index = ne32(body, 4).ok_or(NetlinkError::Malformed)?;
    let flags = ne32(body, 8).ok_or(NetlinkError::Malformed)?;
    let mut name = None;
    let mut mac = None;
    let mut master = None;
    let mut attrs = body.get(IFINFOMSG_LEN..).unwrap_or_default();
    while attrs.len() >= 4 {
        let len = usize::from(ne16(attrs, 0).ok_or(NetlinkError::Malformed)?);
        let kind = ne16(attrs, 2).ok_or(NetlinkError::Malformed)?;
        if len < 4 {
            return Err(NetlinkError::Malformed);
        }
        let value = attrs.get(4..len).ok_or(NetlinkError::Malformed)?;
        match kind {
            IFLA_IFNAME => {
                let bytes = value.split(|b| *b == 0).next().unwrap_or_default();
                name = Some(String::from_utf8_lossy(bytes).into_owned());
            }
            IFLA_ADDRESS => mac = <[u8; 6]>::try_from(value).ok().map(MacAddr),
            IFLA_MASTER => master = ne32(value, 0).filter(|m| *m != 0),
            _ => {}
        }
        attrs = attrs.get(align4(len)..).unwrap_or_default();
    }
    let kind = match link_type {
        ARPHRD_ETHER if mac.is_some() => LinkKind::Ethernet,
        ARPHRD_LOOPBACK => LinkKind::Loopback,
        _ => LinkKind::Other,
    };
    Ok(Link {
        index,
        mac,
        facts: LinkFacts {
            name: name.ok_or(NetlinkError::Malformed)?,
            kind,
            master,
            up: flags & (IFF_UP | IFF_LOWER_UP) == IFF_UP | IFF_LOWER_UP,
        },
    })
}

fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

fn ne16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(
        bytes.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn ne32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(
        bytes.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(value);
        a.resize(align4(a.len()), 0);
        a
    }

    fn message(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HEADER_LEN + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(body);
        m
    }

    fn newlink(link_type: u16, index: u32, flags: u32, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut body = vec![0, 0];
        body.extend_from_slice(&link_type.to_ne_bytes());
        body.extend_from_slice(&index.to_ne_bytes());
        body.extend_from_slice(&flags.to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes());
        for a in attrs {
            body.extend_from_slice(a);
        }
        body
    }

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    #[test]
    fn parses_a_dump() {
        let up = IFF_UP | IFF_LOWER_UP;
        let mut datagram = Vec::new();
        let eth0 = newlink(
            ARPHRD_ETHER,
            2,
            up,
            &[attr(IFLA_IFNAME, b"eth0\0"), attr(IFLA_ADDRESS, &MAC)],
        );
        let port = newlink(
            ARPHRD_ETHER,
            3,
            IFF_UP,
            &[
                attr(IFLA_IFNAME, b"eth1\0"),
                attr(IFLA_ADDRESS, &MAC),
                attr(IFLA_MASTER, &5u32.to_ne_bytes()),
                attr(99, b"x"),
            ],
        );
        let lo = newlink(
            ARPHRD_LOOPBACK,
            1,
            up,
            &[attr(IFLA_IFNAME, b"lo\0"), attr(IFLA_ADDRESS, &[0; 6])],
        );
        let tun = newlink(65534, 4, up, &[attr(IFLA_IFNAME, b"wg0\0")]);
        for body in [&eth0, &port, &lo, &tun] {
            datagram.extend(message(RTM_NEWLINK, 7, body));
        }
        datagram.extend(message(RTM_NEWLINK, 6, &eth0)); // another request's answer
        let mut links = Vec::new();
        assert_eq!(
            parse_dump(&datagram, 7, &mut links).unwrap(),
            Progress::More
        );
        let got: Vec<(u32, &str, LinkKind, Option<u32>, bool)> = links
            .iter()
            .map(|l| {
                (
                    l.index,
                    l.facts.name.as_str(),
                    l.facts.kind,
                    l.facts.master,
                    l.facts.up,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (2, "eth0", LinkKind::Ethernet, None, true),
                (3, "eth1", LinkKind::Ethernet, Some(5), false),
                (1, "lo", LinkKind::Loopback, None, true),
                (4, "wg0", LinkKind::Other, None, true),
            ]
        );
        assert_eq!(links[0].mac, Some(MacAddr(MAC)));
        assert_eq!(
            parse_dump(&message(NLMSG_DONE, 7, &[0; 4]), 7, &mut links).unwrap(),
            Progress::Done
        );
    }

    #[test]
    fn rejects_malformed_messages() {
        let mut links = Vec::new();
        let eth0 = newlink(ARPHRD_ETHER, 2, 0, &[attr(IFLA_IFNAME, b"eth0\0")]);
        let whole = message(RTM_NEWLINK, 1, &eth0);
        let mut overlong = whole.clone();
        overlong[0] += 4;
        let no_name = message(RTM_NEWLINK, 1, &newlink(ARPHRD_ETHER, 2, 0, &[]));
        let mut bad_attr = eth0.clone();
        bad_attr[IFINFOMSG_LEN] = 2; // attribute length below its header
        let error = message(NLMSG_ERROR, 1, &(-libc::EPERM).to_ne_bytes());
        for (name, datagram) in [
            ("length past the datagram", overlong),
            ("no name", no_name),
            ("bad attribute", message(RTM_NEWLINK, 1, &bad_attr)),
            ("truncated ifinfomsg", message(RTM_NEWLINK, 1, &[0; 6])),
        ] {
            assert!(
                matches!(
                    parse_dump(&datagram, 1, &mut links),
                    Err(NetlinkError::Malformed)
                ),
                "{name}"
            );
        }
        match parse_dump(&error, 1, &mut links) {
            Err(NetlinkError::Kernel(e)) => assert_eq!(e.raw_os_error(), Some(libc::EPERM)),
            other => panic!("{other:?}"),
        }
        // A trailing partial header is ignored, not read past.
        assert_eq!(
            parse_dump(&whole[..10], 1, &mut links).unwrap(),
            Progress::More
        );
    }

    #[test]
    fn request_is_a_link_dump() {
        let r = dump_request(9);
        assert_eq!(r.len(), 32);
        assert_eq!(ne32(&r, 0), Some(32));
        assert_eq!(ne16(&r, 4), Some(RTM_GETLINK));
        assert_eq!(ne16(&r, 6), Some(NLM_F_REQUEST | NLM_F_DUMP));
        assert_eq!(ne32(&r, 8), Some(9));
    }
}
