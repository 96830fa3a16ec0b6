//! BFD for the speaker's BGP sessions (RFC 5882): a BGPPeer naming a
//! BFDProfile gets a `ferrolb-bfd` session to the same address, and a BFD
//! failure closes the BGP session at once (Cease/BFD Down), so the router
//! drops this node's routes in BFD detection time instead of the hold time,
//! and the speaker stops sending into a dead path.
//!
//! [`session_params`] and [`session_key`] are pure; [`Bfd`] owns the driver
//! (started on first use, its own thread) and [`Attachment`] one session
//! with the task that follows it.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use ferrolb_api::{BFDProfileSpec, BfdSessionStatus, BfdState};
use ferrolb_bfd::{
    BfdDriver, Diag, DriverConfig, SessionHandle, SessionKey, SessionParams, SessionStatus, State,
};
use ferrolb_bgp::instance::Instance;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The BFD settings of one BGPPeer: the profile it names and, if the
/// profile exists, its spec.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerBfd {
    /// `spec.bfdProfile` of the BGPPeer.
    pub profile: String,
    /// The BFDProfile's spec; `None` when no such profile exists.
    pub spec: Option<BFDProfileSpec>,
}

/// Session parameters for a profile, and a note on what of it cannot be
/// honoured (echo mode: FerroLB's BFD sends Control packets only, which
/// detect the same failures; RFC 5880 makes echo optional).
pub fn session_params(spec: &BFDProfileSpec) -> Result<(SessionParams, Option<String>), String> {
    let ms = |v: u32| Duration::from_millis(u64::from(v));
    let detect_mult = u8::try_from(spec.effective_detect_multiplier())
        .map_err(|_| "detectMultiplier must be at most 255".to_owned())?;
    let min_ttl = u8::try_from(spec.effective_minimum_ttl())
        .map_err(|_| "minimumTtl must be at most 255".to_owned())?;
    let params = SessionParams {
        desired_min_tx: ms(spec.effective_transmit_interval()),
        required_min_rx: ms(spec.effective_receive_interval()),
        detect_mult,
        passive: spec.passive_mode,
        min_ttl,
    };
    params.validate().map_err(|e| e.to_string())?;
    let note = spec
        .echo_mode
        .then(|| "echoMode is not supported; BFD runs with Control packets only".to_owned());
    Ok((params, note))
}

/// The BFD session key of a BGP session from `local` to `peer`: multihop
/// (RFC 5883) when the BGP session may cross routers, else single-hop.
pub fn session_key(peer: IpAddr, local: IpAddr, multihop: bool) -> SessionKey {
    if multihop {
        SessionKey::multihop(peer, local)
    } else {
        SessionKey::single_hop(peer, local)
    }
}

/// The source address the kernel picks towards `peer` (what an outgoing
/// BGP connection without `sourceAddress` uses). No packet is sent.
pub fn local_address_towards(peer: IpAddr) -> std::io::Result<IpAddr> {
    let any: SocketAddr = match peer {
        IpAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(any)?;
    socket.connect(SocketAddr::new(peer, ferrolb_bfd::driver::SINGLE_HOP_PORT))?;
    Ok(socket.local_addr()?.ip())
}

/// The status object's view of a session.
pub fn status_of(profile: &str, status: &SessionStatus, error: Option<String>) -> BfdSessionStatus {
    BfdSessionStatus {
        profile: profile.to_owned(),
        state: match status.state {
            State::AdminDown => BfdState::AdminDown,
            State::Down => BfdState::Down,
            State::Init => BfdState::Init,
            State::Up => BfdState::Up,
        },
        diagnostic: (status.diag != Diag::None).then(|| format!("{:?}", status.diag)),
        detection_time_ms: u32::try_from(status.detection_time.as_millis()).unwrap_or(u32::MAX),
        failures: u32::try_from(status.failures).unwrap_or(u32::MAX),
        error,
    }
}

/// The status of a peer whose BFD session could not be set up.
pub fn failed_status(profile: &str, error: String) -> BfdSessionStatus {
    BfdSessionStatus {
        profile: profile.to_owned(),
        state: BfdState::Down,
        error: Some(error),
        ..BfdSessionStatus::default()
    }
}

/// The process's BFD driver, started when the first BGPPeer needs it.
pub struct Bfd {
    driver: Option<BfdDriver>,
    /// Notified whenever a BFD session changes state.
    changed: Arc<Notify>,
}

impl Bfd {
    /// No driver yet; `changed` is notified at every BFD state change.
    pub fn new(changed: Arc<Notify>) -> Bfd {
        Bfd {
            driver: None,
            changed,
        }
    }

    fn driver(&mut self) -> Result<&BfdDriver, String> {
        if self.driver.is_none() {
            let driver = BfdDriver::start(DriverConfig::default())
                .map_err(|e| format!("starting BFD: {e}"))?;
            tracing::info!("BFD driver started");
            self.driver = Some(driver);
        }
        self.driver
            .as_ref()
            .ok_or_else(|| "BFD driver not running".to_owned())
    }

    /// Starts (or retunes) the BFD session of the BGP session to `peer`
    /// from `local`, and the task that closes the BGP session in
    /// `instance` whenever BFD detects the path down.
    pub fn attach(
        &mut self,
        name: &str,
        bfd: &PeerBfd,
        key: SessionKey,
        instance: Instance,
    ) -> Result<Attachment, String> {
        let spec = bfd
            .spec
            .as_ref()
            .ok_or_else(|| format!("BFDProfile {:?} not found", bfd.profile))?;
        let (params, note) = session_params(spec)?;
        if let Some(note) = &note {
            tracing::warn!(peer = name, profile = %bfd.profile, "{note}");
        }
        let handle = self
            .driver()?
            .add_session(key.clone(), params)
            .map_err(|e| format!("starting the BFD session: {e}"))?;
        tracing::info!(peer = name, session = %key, profile = %bfd.profile, "BFD session configured");
        let task = tokio::spawn(follow(
            name.to_owned(),
            handle.clone(),
            instance,
            key.peer,
            self.changed.clone(),
        ));
        Ok(Attachment {
            bfd: bfd.clone(),
            key,
            handle,
            note,
            task,
        })
    }

    /// Ends the session of `attachment`, telling the peer AdminDown so that
    /// it does not take it for a failure.
    pub fn detach(&mut self, attachment: Attachment) {
        attachment.task.abort();
        if let Some(driver) = &self.driver {
            driver.remove_session(&attachment.key);
        }
    }

    /// Tells every peer AdminDown and stops the driver.
    pub fn shutdown(&mut self) {
        if let Some(driver) = self.driver.take() {
            driver.shutdown();
        }
    }
}

/// One BGP session's BFD session.
pub struct Attachment {
    /// The settings it was made from.
    pub bfd: PeerBfd,
    /// Its key.
    pub key: SessionKey,
    handle: SessionHandle,
    note: Option<String>,
    task: JoinHandle<()>,
}

impl Attachment {
    /// Its status, for the BGPSessionState object.
    pub fn status(&self) -> BfdSessionStatus {
        status_of(&self.bfd.profile, &self.handle.status(), self.note.clone())
    }

    /// Stops acting on this session's failures, leaving the session itself
    /// running (for a new attachment to the same key).
    pub fn stop_following(self) {
        self.task.abort();
    }
}

/// Closes the BGP session to `address` at every BFD failure (RFC 5882
/// section 4.3); a session that never came up or an AdminDown is no
/// failure. Every state change is signalled on `changed` for the status.
async fn follow(
    name: String,
    handle: SessionHandle,
    instance: Instance,
    address: IpAddr,
    changed: Arc<Notify>,
) {
    let mut failures = handle.failures();
    let mut state = handle.state();
    loop {
        tokio::select! {
            biased;
            failure = failures.next() => {
                let Some(status) = failure else { return };
                tracing::warn!(peer = %name, %address, diag = ?status.diag, "BFD down: closing the BGP session");
                if let Err(e) = instance.bfd_down(address).await {
                    tracing::warn!(peer = %name, error = %e, "closing the BGP session after BFD down");
                }
                changed.notify_one();
            }
            result = state.changed() => {
                if result.is_err() {
                    return;
                }
                let now = state.borrow_and_update().state;
                tracing::info!(peer = %name, %address, state = %now, "BFD session state");
                changed.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> BFDProfileSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn profiles_become_session_parameters() {
        let ms = Duration::from_millis;
        // (profile, Ok((parameters, echo noted)) or Err(part of the message))
        type Want = Result<(SessionParams, bool), &'static str>;
        let cases: &[(&str, Want)] = &[
            (
                "{}",
                Ok((
                    SessionParams {
                        desired_min_tx: ms(300),
                        required_min_rx: ms(300),
                        detect_mult: 3,
                        passive: false,
                        min_ttl: 254,
                    },
                    false,
                )),
            ),
            (
                r#"{"receiveInterval": 50, "transmitInterval": 20, "detectMultiplier": 5,
                    "passiveMode": true, "minimumTtl": 250, "echoMode": true}"#,
                Ok((
                    SessionParams {
                        desired_min_tx: ms(20),
                        required_min_rx: ms(50),
                        detect_mult: 5,
                        passive: true,
                        min_ttl: 250,
                    },
                    true,
                )),
            ),
            (r#"{"detectMultiplier": 256}"#, Err("detectMultiplier")),
            (r#"{"minimumTtl": 300}"#, Err("minimumTtl")),
            (r#"{"detectMultiplier": 0}"#, Err("multiplier")),
            (r#"{"transmitInterval": 0}"#, Err("TX")),
        ];
        for (json, want) in cases {
            let got = session_params(&spec(json));
            match (got, want) {
                (Ok((params, note)), Ok((want, echo))) => {
                    assert_eq!(params, *want, "{json}");
                    assert_eq!(note.is_some(), *echo, "{json}");
                }
                (Err(e), Err(want)) => assert!(e.contains(want), "{json}: {e}"),
                (got, want) => panic!("{json}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn multihop_follows_the_bgp_session() {
        let (peer, local) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert_eq!(
            session_key(peer, local, false).mode,
            ferrolb_bfd::HopMode::SingleHop
        );
        assert_eq!(
            session_key(peer, local, true).mode,
            ferrolb_bfd::HopMode::Multihop
        );
    }

    #[test]
    fn status_reports_state_diagnostic_and_failures() {
        let status = SessionStatus {
            state: State::Down,
            remote_state: State::Up,
            diag: Diag::ControlDetectionTimeExpired,
            local_discriminator: 1,
            remote_discriminator: 0,
            failure: true,
            failures: 2,
            detection_time: Duration::from_millis(150),
        };
        let got = status_of("fast", &status, None);
        assert_eq!(got.state, BfdState::Down);
        assert_eq!(
            got.diagnostic.as_deref(),
            Some("ControlDetectionTimeExpired")
        );
        assert_eq!((got.detection_time_ms, got.failures), (150, 2));
        let up = SessionStatus {
            state: State::Up,
            diag: Diag::None,
            ..status
        };
        assert_eq!(status_of("fast", &up, None).diagnostic, None);
        let failed = failed_status("fast", "BFDProfile \"fast\" not found".into());
        assert_eq!(failed.state, BfdState::Down);
        assert!(failed.error.unwrap().contains("not found"));
    }

    #[test]
    fn the_kernel_picks_the_local_address() {
        let local = local_address_towards("127.0.0.1".parse().unwrap()).unwrap();
        assert!(local.is_loopback());
    }
}
