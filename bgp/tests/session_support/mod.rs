//! Helpers shared by the session tests: FerroLB peers on loopback and a raw BGP speaker that
//! says exactly what a test wants on the wire.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::BytesMut;
use ferrolb_bgp::codec::{self, CodecOptions};
use ferrolb_bgp::fsm::Backoff;
use ferrolb_bgp::message::{Capability, Message, Open};
use ferrolb_bgp::session::{spawn_peer, Listener, PeerConfig, PeerHandle, SessionEvent, State};
use ferrolb_bgp::types::AddressFamily;
use ferrolb_bgp::Asn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// How long a test waits for something that should happen within a second or two.
pub const WAIT: Duration = Duration::from_secs(10);

/// Logs to the test output; `RUST_LOG=ferrolb_bgp=debug` shows the sessions at work.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn router_id(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, last)
}

/// A listener on `addr` port 0.
pub fn listen(addr: &str) -> Listener {
    Listener::bind(&[SocketAddr::new(ip(addr), 0)]).unwrap()
}

pub fn port_of(listener: &Listener) -> u16 {
    listener.local_addrs()[0].port()
}

/// A peer config with test-friendly timers: hold 3 s, retries within a fraction of a second.
pub fn fast_config(
    local: &str,
    remote: &str,
    remote_port: u16,
    local_asn: Asn,
    peer_asn: Asn,
    id: u8,
) -> PeerConfig {
    let mut c = PeerConfig::new(ip(remote), local_asn, peer_asn, router_id(id));
    c.port = remote_port;
    c.local_address = Some(ip(local));
    c.connect_timeout = Duration::from_secs(2);
    c.session.hold_time = 3;
    c.session.connect_retry = Backoff::new(Duration::from_millis(300), Duration::from_secs(2));
    c.session.idle_hold = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    c.session.open_hold_time = Duration::from_secs(5);
    c
}

/// Two FerroLB speakers, A on 127.0.0.1 (AS 65001) and B on 127.0.0.2 (AS 65002), each
/// listening and configured with the other. Not started.
pub struct Pair {
    pub a: PeerHandle,
    pub b: PeerHandle,
    pub listener_a: Listener,
    pub listener_b: Listener,
}

pub fn pair(tweak: impl Fn(&mut PeerConfig)) -> Pair {
    init_tracing();
    let listener_a = listen("127.0.0.1");
    let listener_b = listen("127.0.0.2");
    let mut ca = fast_config(
        "127.0.0.1",
        "127.0.0.2",
        port_of(&listener_b),
        65001,
        65002,
        1,
    );
    let mut cb = fast_config(
        "127.0.0.2",
        "127.0.0.1",
        port_of(&listener_a),
        65002,
        65001,
        2,
    );
    tweak(&mut ca);
    tweak(&mut cb);
    let a = spawn_peer(ca, Some(&listener_a)).unwrap();
    let b = spawn_peer(cb, Some(&listener_b)).unwrap();
    Pair {
        a,
        b,
        listener_a,
        listener_b,
    }
}

/// The next event matching `pred`, skipping others; panics after [`WAIT`].
pub async fn wait_for(
    peer: &mut PeerHandle,
    what: &str,
    pred: impl Fn(&SessionEvent) -> bool,
) -> SessionEvent {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, peer.next_event()).await {
            Ok(Some(e)) if pred(&e) => return e,
            Ok(Some(_)) => {}
            Ok(None) => panic!("peer {} ended while waiting for {what}", peer.peer()),
            Err(_) => panic!("peer {}: no {what} within {WAIT:?}", peer.peer()),
        }
    }
}

pub async fn wait_established(peer: &mut PeerHandle) -> SessionEvent {
    wait_for(peer, "Established", |e| {
        matches!(e, SessionEvent::Established { .. })
    })
    .await
}

/// Collects events for `duration` and returns them.
pub async fn events_for(peer: &mut PeerHandle, duration: Duration) -> Vec<SessionEvent> {
    let mut v = Vec::new();
    let deadline = tokio::time::Instant::now() + duration;
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, peer.next_event()).await {
        v.push(e);
    }
    v
}

pub fn reached(events: &[SessionEvent], state: State) -> bool {
    events
        .iter()
        .any(|e| matches!(e, SessionEvent::StateChanged { to, .. } if *to == state))
}

/// A BGP speaker driven by hand over a plain TCP connection.
pub struct RawPeer {
    pub stream: TcpStream,
    buf: BytesMut,
    pub opts: CodecOptions,
}

impl RawPeer {
    /// Connects from `local` to `remote`.
    pub async fn connect(local: &str, remote: SocketAddr) -> std::io::Result<RawPeer> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(ip(local), 0))?;
        let stream = tokio::time::timeout(WAIT, socket.connect(remote)).await??;
        Ok(RawPeer::new(stream))
    }

    pub fn new(stream: TcpStream) -> RawPeer {
        RawPeer {
            stream,
            buf: BytesMut::new(),
            opts: CodecOptions::default(),
        }
    }

    pub async fn send(&mut self, msg: &Message) {
        let mut out = BytesMut::new();
        codec::encode_message(msg, self.opts, &mut out).unwrap();
        self.stream.write_all(&out).await.unwrap();
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next message, or `None` when the connection closed; panics after `timeout`.
    pub async fn recv_within(&mut self, timeout: Duration) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(len) = codec::frame_length(&self.buf, self.opts)
                .unwrap()
                .filter(|l| *l <= self.buf.len())
            {
                let frame = self.buf.split_to(len);
                return Some(codec::decode_message(&frame, self.opts).unwrap());
            }
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return None,
                Ok(Ok(_)) => {}
                Err(_) => panic!("no message within {timeout:?}"),
            }
        }
    }

    pub async fn recv(&mut self) -> Option<Message> {
        self.recv_within(WAIT).await
    }

    /// Skips KEEPALIVEs and returns the next other message (or `None` at the end).
    pub async fn recv_not_keepalive(&mut self) -> Option<Message> {
        loop {
            match self.recv().await {
                Some(Message::Keepalive) => {}
                other => return other,
            }
        }
    }
}

/// A passive FerroLB peer (AS 65001, id 10.0.0.1) on its own listener on 127.0.0.1,
/// configured for a peer at `peer_addr` in AS 65002.
pub fn passive_peer(peer_addr: &str, tweak: impl Fn(&mut PeerConfig)) -> (PeerHandle, Listener) {
    init_tracing();
    let listener = listen("127.0.0.1");
    let mut c = fast_config("127.0.0.1", peer_addr, 179, 65001, 65002, 1);
    c.session.passive = true;
    tweak(&mut c);
    let peer = spawn_peer(c, Some(&listener)).unwrap();
    (peer, listener)
}

/// Connects a raw speaker from `from` to the listener and reads FerroLB's OPEN.
pub async fn raw_to(listener: &Listener, from: &str) -> (RawPeer, Open) {
    let mut raw = RawPeer::connect(from, listener.local_addrs()[0])
        .await
        .unwrap();
    let Some(Message::Open(open)) = raw.recv().await else {
        panic!("expected OPEN")
    };
    (raw, open)
}

/// An OPEN as a plain speaker would send it.
pub fn open(asn: Asn, hold_time: u16, id: u8) -> Open {
    Open {
        version: 4,
        asn,
        hold_time,
        router_id: router_id(id),
        capabilities: vec![
            Capability::Multiprotocol(AddressFamily::Ipv4Unicast),
            Capability::RouteRefresh,
            Capability::FourOctetAs(asn),
        ],
    }
}
