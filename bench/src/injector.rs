//! The load: a peer that announces every prefix of the benchmark as fast as the device under test
//! reads them, from UPDATEs encoded before the clock starts.

use std::net::Ipv4Addr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferrolb_bgp::codec::{CodecOptions, EncodeError, UpdatePacker, UpdateView};
use ferrolb_bgp::message::message_type;
use ferrolb_bgp::{AddressFamily, AsPath, NextHop, Origin, PathAttributes};
use ipnet::IpNet;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::peer::{keepalives, notification_error, FrameReader, PeerError, Session};

/// Messages are handed to the socket in runs of about this many octets.
const CHUNK: usize = 256 * 1024;

/// A peer's whole announcement, encoded: UPDATEs in socket-sized runs, then End-of-RIB.
#[derive(Debug, Clone)]
pub struct Feed {
    /// Runs of whole UPDATE messages.
    pub chunks: Vec<Bytes>,
    /// The End-of-RIB marker.
    pub end_of_rib: Bytes,
    /// How many UPDATEs.
    pub updates: usize,
    /// Octets of UPDATEs.
    pub octets: usize,
    /// Fewest and most prefixes in one UPDATE.
    pub prefixes_per_update: (usize, usize),
}

impl Feed {
    /// Encodes `prefixes` as announced by AS `asn` with next hop `next_hop` (ORIGIN IGP,
    /// AS_PATH of just `asn`), packed as tightly as `opts` allow.
    pub fn encode(
        prefixes: &[IpNet],
        asn: u32,
        next_hop: Ipv4Addr,
        opts: CodecOptions,
    ) -> Result<Feed, EncodeError> {
        let attributes = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence([asn])),
            ..PathAttributes::default()
        };
        let packer = UpdatePacker::new(opts);
        let messages = packer.announce(&attributes, NextHop::V4(next_hop), prefixes)?;
        let mut per_update = (usize::MAX, 0);
        let mut chunks = Vec::new();
        let mut run = BytesMut::with_capacity(CHUNK);
        let mut octets = 0;
        for m in &messages {
            let n = UpdateView::from_frame(m, opts)
                .map(|v| v.announced().count())
                .unwrap_or(0);
            per_update = (per_update.0.min(n), per_update.1.max(n));
            octets += m.len();
            if run.len() + m.len() > CHUNK && !run.is_empty() {
                chunks.push(run.split().freeze());
            }
            run.extend_from_slice(m);
        }
        if !run.is_empty() {
            chunks.push(run.freeze());
        }
        if messages.is_empty() {
            per_update = (0, 0);
        }
        Ok(Feed {
            chunks,
            end_of_rib: packer.end_of_rib(AddressFamily::Ipv4Unicast)?,
            updates: messages.len(),
            octets,
            prefixes_per_update: per_update,
        })
    }
}

/// What one injector saw.
#[derive(Debug, Clone, Default)]
pub struct InjectorReport {
    /// When its first UPDATE octet went to the socket.
    pub started: Option<Instant>,
    /// When the socket took its End-of-RIB (the device under test had read all but what fits in
    /// the socket buffers).
    pub finished: Option<Instant>,
    /// UPDATEs the device under test sent it (none are expected: injectors are sent nothing).
    pub updates_received: u64,
    /// Prefixes announced in those UPDATEs.
    pub prefixes_received: u64,
    /// Why the session failed, if it did.
    pub error: Option<String>,
}

/// Sends `feed` once `go` fires, then keeps the session up with KEEPALIVEs until `stop` fires.
pub async fn inject(
    session: Session,
    feed: Arc<Feed>,
    mut go: watch::Receiver<bool>,
    stop: watch::Receiver<bool>,
) -> InjectorReport {
    let interval = session.keepalive_interval();
    let Session {
        reader,
        mut writer,
        remote,
        ..
    } = session;
    let listen = tokio::spawn(drain(reader, stop.clone()));
    let mut report = InjectorReport::default();
    if !crate::peer::fired(&mut go).await {
        report.error = Some("the run was abandoned before it started".into());
        return report;
    }
    report.started = Some(Instant::now());
    // A DUT that stops reading must not keep the run from ending: sending gives way to `stop`.
    let mut interrupt = stop.clone();
    let sent = tokio::select! {
        sent = send(&mut writer, &feed) => Some(sent),
        _ = crate::peer::fired(&mut interrupt) => None,
    };
    let result = match sent {
        Some(Ok(())) => {
            report.finished = Some(Instant::now());
            keepalives(&mut writer, interval, stop).await
        }
        Some(Err(source)) => Err(PeerError::Io {
            context: format!("sending UPDATEs to {remote}"),
            source,
        }),
        // Stopped (the run timed out) before the DUT had read everything.
        None => Ok(()),
    };
    if let Err(e) = result {
        report.error = Some(e.to_string());
    }
    match listen.await {
        Ok(heard) => {
            report.updates_received = heard.updates;
            report.prefixes_received = heard.prefixes;
            if report.error.is_none() {
                report.error = heard.error;
            }
        }
        Err(e) => report.error = Some(format!("listener task failed: {e}")),
    }
    report
}

/// Writes the feed's UPDATEs and End-of-RIB.
async fn send(writer: &mut OwnedWriteHalf, feed: &Feed) -> std::io::Result<()> {
    for chunk in &feed.chunks {
        writer.write_all(chunk).await?;
    }
    writer.write_all(&feed.end_of_rib).await
}

/// What an injector heard from the device under test.
#[derive(Debug, Default)]
struct Heard {
    updates: u64,
    prefixes: u64,
    error: Option<String>,
}

/// Reads (and mostly ignores) what the device under test sends until `stop` fires; a
/// NOTIFICATION or a closed connection before that is an error.
async fn drain(mut reader: FrameReader<OwnedReadHalf>, mut stop: watch::Receiver<bool>) -> Heard {
    let mut heard = Heard::default();
    loop {
        let frame = tokio::select! {
            frame = reader.next() => frame,
            _ = crate::peer::fired(&mut stop) => return heard,
        };
        let opts = reader.options();
        match frame {
            Ok(Some(frame)) => match frame.get(18).copied() {
                Some(message_type::UPDATE) => {
                    heard.updates += 1;
                    if let Ok(view) = UpdateView::from_frame(&frame, opts) {
                        heard.prefixes += view.announced().count() as u64;
                    }
                }
                Some(message_type::NOTIFICATION) => {
                    heard.error = Some(notification_error(&frame, reader.peer(), opts).to_string());
                    return heard;
                }
                _ => {}
            },
            Ok(None) => {
                heard.error = Some("the device under test closed the session".into());
                return heard;
            }
            Err(e) => {
                heard.error = Some(e.to_string());
                return heard;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prefixes::{PrefixSet, DEFAULT_BASE};

    fn opts() -> CodecOptions {
        CodecOptions {
            four_octet_as: true,
            extended_message: false,
        }
    }

    #[test]
    fn a_feed_announces_every_prefix_once_in_full_messages() {
        for (len, count) in [(24, 10_000), (32, 3_000), (24, 1)] {
            let set = PrefixSet::new(DEFAULT_BASE, len, count).unwrap();
            let prefixes = set.to_vec();
            let feed =
                Feed::encode(&prefixes, 65101, Ipv4Addr::new(198, 18, 0, 11), opts()).unwrap();
            let mut seen = Vec::new();
            let mut updates = 0;
            for chunk in &feed.chunks {
                assert!(chunk.len() <= CHUNK, "chunk of {}", chunk.len());
                let mut rest = &chunk[..];
                while !rest.is_empty() {
                    let n = ferrolb_bgp::codec::frame_length(rest, opts())
                        .unwrap()
                        .unwrap();
                    let view = UpdateView::from_frame(&rest[..n], opts()).unwrap();
                    assert_eq!(
                        view.attributes().as_path,
                        Some(AsPath::from_sequence([65101]))
                    );
                    seen.extend(view.announced().map(|(p, nh)| {
                        assert_eq!(nh, NextHop::V4(Ipv4Addr::new(198, 18, 0, 11)));
                        p
                    }));
                    updates += 1;
                    rest = &rest[n..];
                }
            }
            assert_eq!(seen, prefixes);
            assert_eq!(updates, feed.updates);
            let (min, max) = feed.prefixes_per_update;
            assert!(min >= 1 && max >= min);
            if count > 2000 {
                // 4096-octet messages hold about 4050 octets of NLRI: ~1000 /24s, ~800 /32s.
                let per = 4096 / (1 + usize::from(len / 8));
                assert!(
                    max > per * 9 / 10 && max <= per,
                    "{max} per UPDATE of /{len}"
                );
            }
        }
    }
}
