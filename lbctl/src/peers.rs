//! `lbctl peers`: every BGP session, as the speakers report it
//! (BGPSessionState objects) and as the routers' admin APIs report it.

use std::process::ExitCode;

use ferrolb_api::{BGPSessionState, SessionState};
use serde::Serialize;

use crate::cluster;
use crate::kube_client::Kube;
use crate::output::{Cell, Color, Printer, Table};
use crate::router_api::{self, RouterEndpoint, RouterReport};

/// One BGP session seen from one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRow {
    /// `speaker` or `router`.
    pub side: String,
    /// The node (speaker side) or router name.
    pub local: String,
    /// The BGPPeer name (speaker side), else `-`.
    pub peer: String,
    /// The neighbour's address.
    pub address: String,
    /// FSM state.
    pub state: String,
    /// Whether it is Established.
    pub established: bool,
    /// Seconds in the current state (speaker) or since established (router).
    pub uptime_seconds: Option<u64>,
    /// Prefix counts in words.
    pub prefixes: String,
    /// The last error or reason for going down.
    pub last_error: Option<String>,
}

/// Rows for the speakers' sessions, sorted by node and peer; `now` in Unix seconds.
pub fn speaker_rows(sessions: &[BGPSessionState], now: i64) -> Vec<SessionRow> {
    let mut rows: Vec<SessionRow> = sessions
        .iter()
        .map(|s| {
            let status = s.status.clone().unwrap_or_default();
            SessionRow {
                side: "speaker".into(),
                local: s.spec.node.clone(),
                peer: s.spec.peer.clone(),
                address: s.spec.peer_address.clone(),
                state: format!("{:?}", status.state),
                established: status.state == SessionState::Established,
                uptime_seconds: status
                    .since
                    .as_ref()
                    .and_then(|t| u64::try_from(now - t.0.as_second()).ok()),
                prefixes: format!(
                    "{} sent, {} received",
                    status.prefixes_sent, status.prefixes_received
                ),
                last_error: status.last_error,
            }
        })
        .collect();
    rows.sort_by(|a, b| (&a.local, &a.peer).cmp(&(&b.local, &b.peer)));
    rows
}

/// Rows for the routers' neighbours; a router that could not be asked
/// gives one `unreachable` row carrying the error.
pub fn router_rows(reports: &[RouterReport]) -> Vec<SessionRow> {
    reports
        .iter()
        .flat_map(|r| match &r.peers {
            Ok(peers) => peers
                .iter()
                .map(|p| SessionRow {
                    side: "router".into(),
                    local: r.name.clone(),
                    peer: p.asn.map_or("-".to_owned(), |a| format!("AS{a}")),
                    address: p.address.to_string(),
                    state: p.state.clone(),
                    established: p.established,
                    uptime_seconds: p.uptime_seconds,
                    prefixes: format!(
                        "{} accepted, {} rejected, {} installed",
                        p.prefixes.accepted, p.prefixes.rejected, p.prefixes.installed
                    ),
                    last_error: p.last_down.clone(),
                })
                .collect::<Vec<_>>(),
            Err(e) => vec![SessionRow {
                side: "router".into(),
                local: r.name.clone(),
                peer: "-".into(),
                address: "-".into(),
                state: "unreachable".into(),
                established: false,
                uptime_seconds: None,
                prefixes: "-".into(),
                last_error: Some(e.clone()),
            }],
        })
        .collect()
}

/// The `lbctl peers` table.
pub fn table(rows: &[SessionRow]) -> Table {
    let mut t = Table::new(&[
        "SIDE", "LOCAL", "PEER", "ADDRESS", "STATE", "UPTIME", "PREFIXES",
    ])
    .wide(&["LAST-ERROR"]);
    for r in rows {
        let color = if r.established {
            Color::Green
        } else {
            Color::Red
        };
        let uptime = match (r.established, r.uptime_seconds) {
            (true, Some(s)) => crate::age::seconds(s),
            _ => "-".to_owned(),
        };
        t.row(vec![
            r.side.clone().into(),
            r.local.clone().into(),
            r.peer.clone().into(),
            r.address.clone().into(),
            Cell::colored(r.state.clone(), color),
            uptime.into(),
            r.prefixes.clone().into(),
            r.last_error.clone().unwrap_or_else(|| "-".into()).into(),
        ]);
    }
    t
}

/// Runs `lbctl peers`; fails (exit 1) when a session is not Established
/// or a router cannot be asked.
pub async fn run(
    kube: &Kube,
    printer: &Printer,
    routers: &[RouterEndpoint],
) -> anyhow::Result<ExitCode> {
    let sessions = cluster::sessions(kube).await?;
    let mut reports = Vec::new();
    for r in routers {
        reports.push(router_api::report(r).await);
    }
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let mut rows = speaker_rows(&sessions, now);
    rows.extend(router_rows(&reports));
    if rows.is_empty() {
        println!("No BGP sessions: no BGPSessionState objects in {} and no routers given (--router URL or ~/.config/lbctl/config.yaml).", kube.ferrolb_namespace);
        return Ok(ExitCode::SUCCESS);
    }
    printer.print(&rows, || table(&rows))?;
    Ok(if rows.iter().all(|r| r.established) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router_api::{PeerView, PrefixCounts};

    #[test]
    fn rows_from_both_sides() {
        let session: BGPSessionState = serde_json::from_value(serde_json::json!({
            "apiVersion": "ferrolb.io/v1alpha1", "kind": "BGPSessionState",
            "metadata": {"name": "node-a-r1"},
            "spec": {"node": "node-a", "peer": "r1", "peerAddress": "10.0.0.1"},
            "status": {"state": "Established", "since": "2026-11-22T06:00:00Z",
                       "prefixesSent": 2, "prefixesReceived": 0}
        }))
        .unwrap();
        let now = "2026-11-22T06:05:00Z"
            .parse::<k8s_openapi::jiff::Timestamp>()
            .unwrap()
            .as_second();
        let mut rows = speaker_rows(&[session], now);
        rows.extend(router_rows(&[
            RouterReport {
                name: "r1".into(),
                peers: Ok(vec![PeerView {
                    address: "10.0.0.11".parse().unwrap(),
                    asn: Some(64512),
                    state: "Active".into(),
                    established: false,
                    uptime_seconds: None,
                    dynamic: true,
                    last_down: Some("hold timer expired".into()),
                    prefixes: PrefixCounts::default(),
                    bfd: None,
                }]),
                routes: Ok(vec![]),
                fib: Ok(vec![]),
            },
            RouterReport {
                name: "r2".into(),
                peers: Err("router r2: cannot reach http://127.0.0.1:1/api/v1/peers".into()),
                routes: Ok(vec![]),
                fib: Ok(vec![]),
            },
        ]));
        assert_eq!(
            table(&rows).render(false, false),
            "SIDE      LOCAL    PEER      ADDRESS     STATE         UPTIME   PREFIXES\n\
             speaker   node-a   r1        10.0.0.1    Established   5m       2 sent, 0 received\n\
             router    r1       AS64512   10.0.0.11   Active        -        0 accepted, 0 rejected, 0 installed\n\
             router    r2       -         -           unreachable   -        -\n"
        );
    }
}
