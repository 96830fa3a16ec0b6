//! A minimal BGP peer on a plain TCP socket, shared by the injectors and the monitor: connect,
//! exchange OPEN and KEEPALIVE, then read framed messages and write pre-encoded ones.
//!
//! It is deliberately not FerroLB's session layer: the load generator and the measuring end must
//! cost as little as possible and behave the same whichever daemon is under test, so they use
//! the codec directly and nothing else.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrolb_bgp::codec::{decode_message, encode_message, frame_length, CodecOptions};
use ferrolb_bgp::message::{message_type, subcode, ErrorCode, Message, Notification, Open};
use ferrolb_bgp::{AddressFamily, Capability};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// How often a refused connection is retried while the device under test starts.
const CONNECT_RETRY: Duration = Duration::from_millis(100);
/// How much the read buffer grows by at a time.
const READ_CHUNK: usize = 256 * 1024;

/// Why a peer's session failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// A socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// The device under test closed the session with a NOTIFICATION.
    #[error("{peer} sent NOTIFICATION {notification}")]
    Notification {
        /// Who sent it.
        peer: SocketAddr,
        /// What it said.
        notification: Notification,
    },
    /// The byte stream did not parse (the error is the NOTIFICATION we would send).
    #[error("malformed message from {peer}: {notification}")]
    Malformed {
        /// Who sent it.
        peer: SocketAddr,
        /// The decode error.
        notification: Notification,
    },
    /// Something other than the expected message arrived.
    #[error("{0}")]
    Protocol(String),
    /// The session was not up in time.
    #[error("{0} timed out")]
    Timeout(String),
    /// The connection closed.
    #[error("{0} closed the connection")]
    Closed(SocketAddr),
}

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> PeerError {
    let context = context.into();
    move |source| PeerError::Io { context, source }
}

/// Who a benchmark peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Its address, also the source of its TCP connection, BGP identifier and next hop.
    pub address: Ipv4Addr,
    /// Its AS.
    pub asn: u32,
    /// The hold time it proposes.
    pub hold_time: u16,
}

impl PeerIdentity {
    /// The OPEN it sends: IPv4 unicast, 4-octet ASNs, 4096-octet messages.
    pub fn open(&self) -> Open {
        Open {
            version: 4,
            asn: self.asn,
            hold_time: self.hold_time,
            router_id: self.address,
            capabilities: vec![
                Capability::Multiprotocol(AddressFamily::Ipv4Unicast),
                Capability::FourOctetAs(self.asn),
            ],
        }
    }
}

/// Reads whole BGP messages off a byte stream.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    buf: BytesMut,
    opts: CodecOptions,
    peer: SocketAddr,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    fn new(inner: R, peer: SocketAddr) -> FrameReader<R> {
        FrameReader {
            inner,
            buf: BytesMut::with_capacity(READ_CHUNK),
            opts: CodecOptions::default(),
            peer,
        }
    }

    /// The next message, header included; `None` at the end of the stream. Cancel-safe: a
    /// message that was partly read stays in the buffer.
    pub async fn next(&mut self) -> Result<Option<Bytes>, PeerError> {
        loop {
            let len = frame_length(&self.buf, self.opts).map_err(|notification| {
                PeerError::Malformed {
                    peer: self.peer,
                    notification,
                }
            })?;
            if let Some(len) = len.filter(|&len| self.buf.len() >= len) {
                return Ok(Some(self.buf.split_to(len).freeze()));
            }
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.buf.reserve(READ_CHUNK);
            }
            let n = self
                .inner
                .read_buf(&mut self.buf)
                .await
                .map_err(io_error(format!("reading from {}", self.peer)))?;
            if n == 0 {
                return Ok(None);
            }
        }
    }

    /// The session parameters the frames are checked against.
    pub fn options(&self) -> CodecOptions {
        self.opts
    }

    /// The remote end.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }
}

/// An Established session, split so one task can read while another writes.
#[derive(Debug)]
pub struct Session {
    /// The incoming messages.
    pub reader: FrameReader<OwnedReadHalf>,
    /// The outgoing byte stream.
    pub writer: OwnedWriteHalf,
    /// The negotiated wire format.
    pub opts: CodecOptions,
    /// The negotiated hold time.
    pub hold_time: Duration,
    /// The remote end.
    pub remote: SocketAddr,
}

impl Session {
    /// How often to send KEEPALIVE: a third of the hold time (never, with hold time 0).
    pub fn keepalive_interval(&self) -> Option<Duration> {
        (!self.hold_time.is_zero()).then(|| self.hold_time / 3)
    }
}

/// One encoded KEEPALIVE.
pub fn keepalive() -> Bytes {
    encode(&Message::Keepalive, CodecOptions::default())
}

fn encode(msg: &Message, opts: CodecOptions) -> Bytes {
    let mut out = BytesMut::new();
    // OPEN and KEEPALIVE built here always fit in a message; an error would be a bug, and an
    // empty write would then surface as the peer's hold timer expiring.
    if let Err(e) = encode_message(msg, opts, &mut out) {
        tracing::error!(error = %e, "encoding {msg:?}");
    }
    out.freeze()
}

/// Decodes a NOTIFICATION frame into the error to report.
pub fn notification_error(frame: &[u8], peer: SocketAddr, opts: CodecOptions) -> PeerError {
    match decode_message(frame, opts) {
        Ok(Message::Notification(notification)) => PeerError::Notification { peer, notification },
        Ok(other) => PeerError::Protocol(format!("expected NOTIFICATION, got {other:?}")),
        Err(notification) => PeerError::Malformed { peer, notification },
    }
}

/// Connects from `identity.address` to `remote`, retrying refused connections until `timeout`
/// (the device under test may still be starting), and brings the session to Established.
pub async fn establish(
    identity: PeerIdentity,
    remote: SocketAddrV4,
    timeout: Duration,
) -> Result<Session, PeerError> {
    let what = format!(
        "session from {} (AS {}) to {remote}",
        identity.address, identity.asn
    );
    let attempts = async {
        loop {
            match handshake(identity, remote).await {
                Err(e) if not_ready(&e) => {
                    tracing::debug!(%remote, error = %e, "DUT not ready; retrying");
                    tokio::time::sleep(CONNECT_RETRY).await;
                }
                other => return other,
            }
        }
    };
    tokio::time::timeout(timeout, attempts)
        .await
        .map_err(|_| PeerError::Timeout(what))?
}

/// Whether a failed handshake means the DUT was not ready for the session yet rather than that
/// it refused it: a daemon that has just started may close or reset a connection that arrives
/// before its neighbour's state machine runs (GoBGP closes those accepted while Idle), or
/// reject it with Cease / Connection Rejected.
fn not_ready(e: &PeerError) -> bool {
    match e {
        PeerError::Closed(_) => true,
        PeerError::Io { source, .. } => matches!(
            source.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ),
        PeerError::Notification { notification, .. } => {
            notification.code == ErrorCode::Cease
                && notification.subcode == subcode::cease::CONNECTION_REJECTED
        }
        _ => false,
    }
}

async fn connect(local: Ipv4Addr, remote: SocketAddrV4) -> Result<TcpStream, PeerError> {
    loop {
        let socket = TcpSocket::new_v4().map_err(io_error("creating a socket"))?;
        socket
            .bind(SocketAddr::V4(SocketAddrV4::new(local, 0)))
            .map_err(io_error(format!("binding to {local}")))?;
        match socket.connect(SocketAddr::V4(remote)).await {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                tokio::time::sleep(CONNECT_RETRY).await;
            }
            Err(e) => return Err(io_error(format!("connecting to {remote}"))(e)),
        }
    }
}

async fn handshake(identity: PeerIdentity, remote: SocketAddrV4) -> Result<Session, PeerError> {
    let stream = connect(identity.address, remote).await?;
    stream
        .set_nodelay(true)
        .map_err(io_error("setting TCP_NODELAY"))?;
    let peer = SocketAddr::V4(remote);
    let (read, mut writer) = stream.into_split();
    let mut reader = FrameReader::new(read, peer);
    let ours = identity.open();
    writer
        .write_all(&encode(&Message::Open(ours), CodecOptions::default()))
        .await
        .map_err(io_error(format!("sending OPEN to {remote}")))?;
    let theirs = expect(&mut reader, message_type::OPEN).await?;
    let Ok(Message::Open(theirs)) = decode_message(&theirs, CodecOptions::default()) else {
        return Err(PeerError::Protocol(format!(
            "unreadable OPEN from {remote}"
        )));
    };
    let opts = negotiate(&theirs);
    reader.opts = opts;
    writer
        .write_all(&keepalive())
        .await
        .map_err(io_error(format!("sending KEEPALIVE to {remote}")))?;
    expect(&mut reader, message_type::KEEPALIVE).await?;
    let hold_time = Duration::from_secs(u64::from(identity.hold_time.min(theirs.hold_time)));
    tracing::debug!(local = %identity.address, %remote, ?opts, ?hold_time, "established");
    Ok(Session {
        reader,
        writer,
        opts,
        hold_time,
        remote: peer,
    })
}

/// The wire format once the peer's OPEN is known: we always offer 4-octet ASNs and never
/// extended messages.
fn negotiate(theirs: &Open) -> CodecOptions {
    CodecOptions {
        four_octet_as: theirs.four_octet_as(),
        extended_message: false,
    }
}

/// Reads the next message and checks its type; a NOTIFICATION becomes its error.
async fn expect<R: AsyncRead + Unpin>(
    reader: &mut FrameReader<R>,
    wanted: u8,
) -> Result<Bytes, PeerError> {
    let frame = reader.next().await?.ok_or(PeerError::Closed(reader.peer))?;
    match frame.get(18).copied() {
        Some(t) if t == wanted => Ok(frame),
        Some(message_type::NOTIFICATION) => {
            Err(notification_error(&frame, reader.peer, reader.opts))
        }
        other => Err(PeerError::Protocol(format!(
            "expected message type {wanted} from {}, got {other:?}",
            reader.peer
        ))),
    }
}

/// Waits until a flag turns true; `false` if its sender is gone first.
pub async fn fired(flag: &mut tokio::sync::watch::Receiver<bool>) -> bool {
    // The guard `wait_for` returns must not live across an await (it is not `Send`).
    flag.wait_for(|f| *f).await.is_ok()
}

/// Writes KEEPALIVEs every `interval` until `stop` fires.
pub async fn keepalives(
    writer: &mut OwnedWriteHalf,
    interval: Option<Duration>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), PeerError> {
    let Some(interval) = interval else {
        fired(&mut stop).await;
        return Ok(());
    };
    let mut tick = tokio::time::interval_at(Instant::now() + interval, interval);
    loop {
        tokio::select! {
            _ = tick.tick() => writer
                .write_all(&keepalive())
                .await
                .map_err(io_error("sending KEEPALIVE"))?,
            _ = fired(&mut stop) => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_offers_ipv4_and_four_octet_asns_only() {
        let id = PeerIdentity {
            address: Ipv4Addr::new(198, 18, 0, 11),
            asn: 65101,
            hold_time: 90,
        };
        let open = id.open();
        assert_eq!(open.families(), vec![AddressFamily::Ipv4Unicast]);
        assert!(open.four_octet_as() && !open.extended_message());
        assert_eq!((open.router_id, open.hold_time), (id.address, 90));
        let cases = [(true, true), (false, false)];
        for (theirs_4octet, want) in cases {
            let mut theirs = id.open();
            if !theirs_4octet {
                theirs
                    .capabilities
                    .retain(|c| !matches!(c, Capability::FourOctetAs(_)));
            }
            assert_eq!(negotiate(&theirs).four_octet_as, want);
            assert!(!negotiate(&theirs).extended_message);
        }
    }

    #[test]
    fn only_a_dut_still_starting_is_retried() {
        let peer: SocketAddr = "198.18.0.1:179".parse().unwrap();
        let io = |kind| PeerError::Io {
            context: "x".into(),
            source: std::io::Error::from(kind),
        };
        let notification = |code, sub| PeerError::Notification {
            peer,
            notification: Notification::new(code, sub, Vec::new()),
        };
        let cases = [
            (PeerError::Closed(peer), true),
            (io(std::io::ErrorKind::ConnectionReset), true),
            (io(std::io::ErrorKind::BrokenPipe), true),
            (io(std::io::ErrorKind::PermissionDenied), false),
            (
                notification(ErrorCode::Cease, subcode::cease::CONNECTION_REJECTED),
                true,
            ),
            (notification(ErrorCode::OpenMessage, 2), false),
            (PeerError::Protocol("x".into()), false),
        ];
        for (e, want) in cases {
            assert_eq!(not_ready(&e), want, "{e}");
        }
    }

    #[tokio::test]
    async fn frames_are_split_from_a_stream_fed_in_pieces() {
        let ka = keepalive();
        let mut stream = Vec::new();
        for _ in 0..3 {
            stream.extend_from_slice(&ka);
        }
        // Deliver the bytes 7 at a time so frames straddle reads.
        let (client, mut server) = tokio::io::duplex(7);
        let feeder = tokio::spawn(async move {
            server.write_all(&stream).await.unwrap();
        });
        let mut reader = FrameReader::new(client, "192.0.2.1:179".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(reader.next().await.unwrap().unwrap(), ka);
        }
        feeder.await.unwrap();
        assert!(reader.next().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn garbage_is_an_error_not_a_panic() {
        let (client, mut server) = tokio::io::duplex(64);
        server.write_all(&[0u8; 40]).await.unwrap();
        let mut reader = FrameReader::new(client, "192.0.2.1:179".parse().unwrap());
        assert!(matches!(
            reader.next().await,
            Err(PeerError::Malformed { .. })
        ));
    }
}
