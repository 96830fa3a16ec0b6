//! The measuring end: a peer of the device under test that counts the distinct benchmark prefixes
//! it is sent and notes when it first holds them all.

use ferrolb_bgp::codec::UpdateView;
use ferrolb_bgp::message::message_type;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::peer::{keepalive, notification_error, PeerError, Session};
use crate::prefixes::{PrefixCounter, PrefixSet};
use tokio::io::AsyncWriteExt;

/// What the monitor saw.
#[derive(Debug, Clone)]
pub struct MonitorReport {
    /// The prefixes it holds at the end.
    pub counter: PrefixCounter,
    /// When the first benchmark prefix arrived.
    pub first_route: Option<Instant>,
    /// When it first held every benchmark prefix.
    pub complete: Option<Instant>,
    /// UPDATEs received.
    pub updates: u64,
    /// Why the session failed, if it did.
    pub error: Option<String>,
}

/// Counts what the session delivers until every prefix of `set` is held or `stop` fires,
/// answering with KEEPALIVEs meanwhile. `complete` is told the moment the set is complete.
pub async fn monitor(
    session: Session,
    set: PrefixSet,
    complete: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) -> MonitorReport {
    let interval = session.keepalive_interval();
    let Session {
        mut reader,
        mut writer,
        opts,
        remote,
        ..
    } = session;
    let mut report = MonitorReport {
        counter: PrefixCounter::new(set),
        first_route: None,
        complete: None,
        updates: 0,
        error: None,
    };
    // Without a hold time there is nothing to keep alive; a day stands in for "never".
    let period = interval.unwrap_or(std::time::Duration::from_secs(86_400));
    let mut tick = tokio::time::interval_at(Instant::now() + period, period);
    loop {
        let frame = tokio::select! {
            frame = reader.next() => frame,
            _ = tick.tick() => {
                if let Err(e) = writer.write_all(&keepalive()).await {
                    report.error = Some(format!("sending KEEPALIVE to {remote}: {e}"));
                    return report;
                }
                continue;
            }
            _ = crate::peer::fired(&mut stop) => return report,
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                report.error = Some(PeerError::Closed(remote).to_string());
                return report;
            }
            Err(e) => {
                report.error = Some(e.to_string());
                return report;
            }
        };
        match frame.get(18).copied() {
            Some(message_type::UPDATE) => {
                report.updates += 1;
                let view = match UpdateView::from_frame(&frame, opts) {
                    Ok(view) => view,
                    Err(notification) => {
                        let e = PeerError::Malformed {
                            peer: remote,
                            notification,
                        };
                        report.error = Some(e.to_string());
                        return report;
                    }
                };
                for p in view.withdrawn() {
                    report.counter.withdraw(&p);
                }
                for (p, _) in view.announced() {
                    report.counter.announce(&p);
                }
                if report.first_route.is_none() && report.counter.held() > 0 {
                    report.first_route = Some(Instant::now());
                }
                if report.complete.is_none() && report.counter.is_complete() {
                    report.complete = Some(Instant::now());
                    let _ = complete.send(true);
                }
            }
            Some(message_type::NOTIFICATION) => {
                report.error = Some(notification_error(&frame, remote, opts).to_string());
                return report;
            }
            _ => {}
        }
    }
}
