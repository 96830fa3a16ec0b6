//! Building our OPEN and checking the peer's (RFC 4271 section 6.2, RFC 5492, RFC 6286).

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::message::{
    subcode, Capability, ErrorCode, GracefulRestartCapability, GracefulRestartFamily, Notification,
    Open,
};

use super::config::SessionConfig;
use super::negotiated::{Negotiated, PeerGracefulRestart};

/// The only BGP version FerroLB speaks.
pub const BGP_VERSION: u8 = 4;

/// The smallest non-zero hold time RFC 4271 allows.
pub const MIN_HOLD_TIME: u16 = 3;

/// The hold time we put in our OPEN: 0, or at least 3 seconds.
pub fn proposed_hold_time(config: &SessionConfig) -> u16 {
    match config.hold_time {
        0 => 0,
        t => t.max(MIN_HOLD_TIME),
    }
}

/// Our OPEN for this session.
pub fn build_open(config: &SessionConfig) -> Open {
    let mut capabilities: Vec<Capability> = config
        .families
        .iter()
        .map(|f| Capability::Multiprotocol(*f))
        .collect();
    if config.route_refresh {
        capabilities.push(Capability::RouteRefresh);
    }
    if config.extended_message {
        capabilities.push(Capability::ExtendedMessage);
    }
    if let Some(gr) = &config.graceful_restart {
        capabilities.push(Capability::GracefulRestart(GracefulRestartCapability {
            restarting: gr.restarting,
            // The field is 12 bits wide.
            restart_time: gr.restart_time.min(0x0FFF),
            families: config
                .families
                .iter()
                .map(|f| GracefulRestartFamily {
                    family: *f,
                    forwarding_preserved: gr.forwarding_preserved,
                })
                .collect(),
        }));
    }
    capabilities.push(Capability::FourOctetAs(config.local_asn));
    Open {
        version: BGP_VERSION,
        asn: config.local_asn,
        hold_time: proposed_hold_time(config),
        router_id: config.router_id,
        capabilities,
    }
}

fn open_error(sub: u8, data: impl Into<Vec<u8>>) -> Notification {
    Notification::new(ErrorCode::OpenMessage, sub, data)
}

/// Checks the peer's OPEN against our configuration and settles the session parameters.
///
/// Unknown capabilities are ignored and no capability is required (RFC 5492 lets a speaker
/// proceed without them), so the only failures are the ones RFC 4271 section 6.2 names.
pub fn check_open(config: &SessionConfig, open: &Open) -> Result<Negotiated, Notification> {
    if open.version != BGP_VERSION {
        return Err(open_error(
            subcode::open::UNSUPPORTED_VERSION_NUMBER,
            u16::from(BGP_VERSION).to_be_bytes(),
        ));
    }
    if !config.peer_asn.accepts(open.asn) {
        return Err(open_error(subcode::open::BAD_PEER_AS, Vec::new()));
    }
    let min_hold = config.min_hold_time.max(MIN_HOLD_TIME);
    if open.hold_time != 0 && open.hold_time < min_hold {
        return Err(open_error(
            subcode::open::UNACCEPTABLE_HOLD_TIME,
            Vec::new(),
        ));
    }
    let internal = config.is_internal_peer(open.asn);
    if open.router_id == Ipv4Addr::UNSPECIFIED || (internal && open.router_id == config.router_id) {
        return Err(open_error(subcode::open::BAD_BGP_IDENTIFIER, Vec::new()));
    }
    Ok(negotiate(config, open, internal))
}

fn negotiate(config: &SessionConfig, open: &Open, internal: bool) -> Negotiated {
    let hold_secs = match (proposed_hold_time(config), open.hold_time) {
        (0, _) | (_, 0) => 0,
        (ours, theirs) => ours.min(theirs),
    };
    let hold_time = Duration::from_secs(u64::from(hold_secs));
    let third = hold_time / 3;
    let keepalive = match config.keepalive {
        Some(k) if !k.is_zero() => k.min(third),
        _ => third,
    };
    let peer_families = open.families();
    let families: Vec<_> = config
        .families
        .iter()
        .copied()
        .filter(|f| peer_families.contains(f))
        .collect();
    let graceful_restart = open.graceful_restart().map(|gr| PeerGracefulRestart {
        restart_time: Duration::from_secs(u64::from(gr.restart_time)),
        restarting: gr.restarting,
        families: gr
            .families
            .iter()
            .copied()
            .filter(|f| families.contains(&f.family))
            .collect(),
    });
    Negotiated {
        hold_time,
        keepalive,
        four_octet_as: open.four_octet_as(),
        extended_message: config.extended_message && open.extended_message(),
        route_refresh: config.route_refresh && open.route_refresh(),
        families,
        graceful_restart,
        peer_asn: open.asn,
        peer_router_id: open.router_id,
        internal,
    }
}

#[cfg(test)]
#[path = "open_check_tests.rs"]
mod tests;
