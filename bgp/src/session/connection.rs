//! One TCP connection carrying BGP messages: framing on read, a write buffer that batches
//! sends, and a graceful close that gets the last NOTIFICATION out.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::codec::{self, CodecOptions, EncodeError};
use crate::fsm::collision::Origin;
use crate::message::{Message, Notification};

/// Stop accepting outbound data once this much is waiting for the socket.
pub const WRITE_HIGH_WATER: usize = 1 << 20;

/// How much to read at a time.
const READ_CHUNK: usize = 16 * 1024;

/// How long a closing connection may take to flush its last messages.
const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// What the connection produced.
// Moved once per message, like the `Message` it carries.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Received {
    /// A decoded message.
    Message(Message),
    /// A message the codec rejected, with the NOTIFICATION to answer it with.
    Malformed(Notification),
    /// The peer closed the connection, or it failed.
    Closed(Option<io::Error>),
}

/// A BGP connection.
#[derive(Debug)]
pub struct Connection {
    /// Who opened it.
    pub origin: Origin,
    /// Our end.
    pub local: SocketAddr,
    /// The peer's end.
    pub remote: SocketAddr,
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    read_buf: BytesMut,
    write_buf: BytesMut,
    opts: CodecOptions,
    /// A decode error or EOF was reported: nothing more is read.
    finished: bool,
}

impl Connection {
    /// Wraps a connected stream.
    pub fn new(stream: TcpStream, origin: Origin) -> io::Result<Connection> {
        let local = stream.local_addr()?;
        let remote = stream.peer_addr()?;
        let (reader, writer) = stream.into_split();
        Ok(Connection {
            origin,
            local,
            remote,
            reader,
            writer,
            read_buf: BytesMut::with_capacity(8192),
            write_buf: BytesMut::with_capacity(8192),
            opts: CodecOptions::default(),
            finished: false,
        })
    }

    /// Switches to the wire format both sides negotiated.
    pub fn set_options(&mut self, opts: CodecOptions) {
        self.opts = opts;
    }

    /// The wire format in use.
    pub fn options(&self) -> CodecOptions {
        self.opts
    }

    /// Queues a message for sending.
    pub fn queue(&mut self, msg: &Message) -> Result<(), EncodeError> {
        codec::encode_message(msg, self.opts, &mut self.write_buf)
    }

    /// Queues pre-encoded messages for sending.
    pub fn queue_encoded(&mut self, bytes: &[u8]) {
        self.write_buf.extend_from_slice(bytes);
    }

    /// True while the write buffer can take more outbound data.
    pub fn can_queue(&self) -> bool {
        self.write_buf.len() < WRITE_HIGH_WATER
    }

    /// Takes one complete message out of the read buffer, if there is one.
    fn decode_buffered(&mut self) -> Option<Received> {
        loop {
            match codec::frame_length(&self.read_buf, self.opts) {
                // `frame_length` knows the length once the header is in; wait for the body.
                Ok(None) => return None,
                Ok(Some(len)) if len > self.read_buf.len() => return None,
                Ok(Some(len)) => {
                    let frame = self.read_buf.split_to(len);
                    match codec::decode_frame(&frame, self.opts) {
                        Ok(Some(msg)) => return Some(Received::Message(msg)),
                        // A message the RFCs say to ignore.
                        Ok(None) => continue,
                        Err(n) => {
                            self.finished = true;
                            return Some(Received::Malformed(n));
                        }
                    }
                }
                Err(n) => {
                    self.finished = true;
                    return Some(Received::Malformed(n));
                }
            }
        }
    }

    /// Writes queued data and reads until a message (or the end) arrives.
    ///
    /// With `read` false only writing progresses (the caller has no room for what a message
    /// would produce). Cancel-safe: no data is lost if the future is dropped.
    pub async fn next(&mut self, read: bool) -> Received {
        loop {
            if read && !self.finished {
                if let Some(received) = self.decode_buffered() {
                    return received;
                }
                // The codec caps a frame at the negotiated maximum, so the buffer stays bounded.
                self.read_buf.reserve(READ_CHUNK);
            }
            let reading = read && !self.finished;
            tokio::select! {
                r = self.writer.write_buf(&mut self.write_buf), if !self.write_buf.is_empty() => match r {
                    Ok(0) => return Received::Closed(None),
                    Ok(_) => {}
                    Err(e) => return Received::Closed(Some(e)),
                },
                r = self.reader.read_buf(&mut self.read_buf), if reading => match r {
                    Ok(0) => {
                        self.finished = true;
                        return Received::Closed(None);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        self.finished = true;
                        return Received::Closed(Some(e));
                    }
                },
                else => std::future::pending::<()>().await,
            }
        }
    }

    /// Closes the connection in the background: writes what is queued (such as a final
    /// NOTIFICATION), sends FIN and drains what the peer still sends, so that the close is a
    /// FIN rather than a reset that could destroy the NOTIFICATION in flight.
    pub fn close(self) {
        let Connection {
            mut reader,
            mut writer,
            mut write_buf,
            remote,
            ..
        } = self;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let flush = async {
                while !write_buf.is_empty() {
                    if writer.write_buf(&mut write_buf).await? == 0 {
                        break;
                    }
                }
                writer.shutdown().await?;
                let mut sink = [0u8; 4096];
                while reader.read(&mut sink).await? > 0 {}
                Ok::<(), io::Error>(())
            };
            match tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, flush).await {
                Ok(Ok(())) => tracing::trace!(%remote, "connection closed"),
                Ok(Err(e)) => {
                    tracing::debug!(%remote, error = %e, "connection closed with an error")
                }
                Err(_) => tracing::debug!(%remote, "connection close timed out"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;
    use crate::message::{ErrorCode, Open};

    async fn pair() -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (Connection::new(server, Origin::Remote).unwrap(), client)
    }

    fn encode(msgs: &[Message]) -> BytesMut {
        let mut out = BytesMut::new();
        for m in msgs {
            codec::encode_message(m, CodecOptions::default(), &mut out).unwrap();
        }
        out
    }

    fn open() -> Message {
        Message::Open(Open {
            version: 4,
            asn: 65002,
            hold_time: 90,
            router_id: "10.0.0.2".parse().unwrap(),
            capabilities: vec![],
        })
    }

    #[tokio::test]
    async fn messages_split_across_reads_and_batched_in_one() {
        let (mut conn, mut peer) = pair().await;
        let bytes = encode(&[open(), Message::Keepalive, Message::Keepalive]);
        // One octet at a time, then the rest in one write.
        let (head, tail) = bytes.split_at(25);
        for b in head {
            peer.write_all(&[*b]).await.unwrap();
            tokio::task::yield_now().await;
        }
        peer.write_all(tail).await.unwrap();
        assert!(matches!(conn.next(true).await, Received::Message(m) if m == open()));
        assert!(matches!(
            conn.next(true).await,
            Received::Message(Message::Keepalive)
        ));
        assert!(matches!(
            conn.next(true).await,
            Received::Message(Message::Keepalive)
        ));
        drop(peer);
        assert!(matches!(conn.next(true).await, Received::Closed(None)));
    }

    #[tokio::test]
    async fn a_malformed_message_stops_reading() {
        let (mut conn, mut peer) = pair().await;
        let mut bytes = encode(&[Message::Keepalive]);
        bytes[0] = 0;
        bytes.extend_from_slice(&encode(&[Message::Keepalive]));
        peer.write_all(&bytes).await.unwrap();
        let Received::Malformed(n) = conn.next(true).await else {
            panic!("expected an error")
        };
        assert_eq!(n.code, ErrorCode::MessageHeader);
        // Nothing after the error is read.
        let more = tokio::time::timeout(Duration::from_millis(100), conn.next(true)).await;
        assert!(more.is_err());
    }

    #[tokio::test]
    async fn not_reading_holds_messages_back() {
        let (mut conn, mut peer) = pair().await;
        peer.write_all(&encode(&[Message::Keepalive]))
            .await
            .unwrap();
        let held = tokio::time::timeout(Duration::from_millis(100), conn.next(false)).await;
        assert!(held.is_err());
        assert!(matches!(
            conn.next(true).await,
            Received::Message(Message::Keepalive)
        ));
    }

    #[tokio::test]
    async fn close_delivers_what_was_queued() {
        let (mut conn, mut peer) = pair().await;
        let n = Notification::cease(2);
        conn.queue(&Message::Keepalive).unwrap();
        conn.queue(&Message::Notification(n.clone())).unwrap();
        conn.close();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(
            got,
            encode(&[Message::Keepalive, Message::Notification(n)]).to_vec()
        );
    }
}
