//! Leader election on a `coordination.k8s.io/v1` Lease, with plain
//! get / create / replace and resourceVersion conflicts: whoever writes the
//! Lease first wins, the others see 409 Conflict and follow.
//!
//! The leader renews every retry period. A leader that has not renewed
//! for the renew deadline considers itself deposed and stops; the others
//! take over once the Lease has not changed for its duration, which is
//! longer, so two replicas never lead at once (as long as clocks tick at
//! about the same rate). On shutdown the leader releases the Lease so a
//! standby takes over at its next attempt.

pub mod decision;

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::sync::watch;

use crate::config::{ControllerConfig, LeaseSettings};
use decision::{next_step, LeaseView, Observation, Step};

/// This replica's part in the election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// No attempt has completed yet.
    Unknown,
    /// Holds the Lease: may write.
    Leader,
    /// Another replica holds the Lease, or it could not be renewed.
    Follower,
}

/// Campaigns for the Lease and publishes this replica's [`Role`].
pub struct Elector {
    api: Api<Lease>,
    settings: LeaseSettings,
    identity: String,
    field_manager: String,
    seen: Option<Observation>,
    /// When this replica last created, renewed or took the Lease.
    renewed_at: Option<Instant>,
    role: watch::Sender<Role>,
}

impl std::fmt::Debug for Elector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Elector")
            .field("lease", &self.settings.name)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

impl Elector {
    /// An elector for `config`'s Lease and identity.
    pub fn new(client: Client, config: &ControllerConfig) -> Self {
        Elector {
            api: Api::namespaced(client, &config.namespace),
            settings: config.lease.clone(),
            identity: config.identity.clone(),
            field_manager: config.field_manager.clone(),
            seen: None,
            renewed_at: None,
            role: watch::Sender::new(Role::Unknown),
        }
    }

    /// Follows this replica's role.
    pub fn subscribe(&self) -> watch::Receiver<Role> {
        self.role.subscribe()
    }

    fn set_role(&self, role: Role) {
        self.role.send_if_modified(|current| {
            if *current == role {
                return false;
            }
            match role {
                Role::Leader => tracing::info!(identity = %self.identity, lease = %self.settings.name, "acquired the leader lease"),
                Role::Follower if *current == Role::Leader => {
                    tracing::warn!(identity = %self.identity, "no longer the leader")
                }
                _ => {}
            }
            *current = role;
            true
        });
    }

    /// Tries to acquire or renew the Lease every retry period, forever.
    pub async fn campaign(&mut self) {
        loop {
            let now = Instant::now();
            // A leader must know the outcome before its renew deadline.
            let limit = match self.renewed_at {
                Some(at) => (at + self.settings.renew_deadline)
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(10)),
                None => self.settings.renew_deadline,
            };
            let outcome = tokio::time::timeout(limit, self.attempt()).await;
            let now = Instant::now();
            match outcome {
                Ok(Ok(true)) => {
                    self.renewed_at = Some(now);
                    self.set_role(Role::Leader);
                }
                Ok(Ok(false)) => {
                    self.renewed_at = None;
                    self.set_role(Role::Follower);
                }
                Ok(Err(e)) => self.attempt_failed(now, &e.to_string()),
                Err(_) => self.attempt_failed(now, "timed out"),
            }
            tokio::time::sleep(self.settings.retry_period).await;
        }
    }

    fn attempt_failed(&mut self, now: Instant, error: &str) {
        tracing::warn!(lease = %self.settings.name, %error, "leader election attempt failed");
        match self.renewed_at {
            Some(at) if now.duration_since(at) >= self.settings.renew_deadline => {
                self.renewed_at = None;
                self.set_role(Role::Follower);
            }
            Some(_) => {}
            None => self.set_role(Role::Follower),
        }
    }

    /// One round: read the Lease and act on it. `Ok(true)` if this replica
    /// holds it afterwards.
    async fn attempt(&mut self) -> Result<bool, kube::Error> {
        let lease = self.api.get_opt(&self.settings.name).await?;
        let now = Instant::now();
        let view = lease.as_ref().map(view_of);
        let seen_since = match &view {
            Some(v) => Observation::observe(&mut self.seen, &v.version, now),
            None => now,
        };
        let step = next_step(
            view.as_ref(),
            seen_since,
            &self.identity,
            self.settings.duration,
            now,
        );
        let params = PostParams {
            field_manager: Some(self.field_manager.clone()),
            ..PostParams::default()
        };
        let written = match (step, lease) {
            (Step::Create, _) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.settings.name.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.claim(None)),
                };
                self.api.create(&params, &lease).await
            }
            (Step::Renew, Some(mut lease)) => {
                let mut spec = lease.spec.take().unwrap_or_default();
                spec.renew_time = Some(MicroTime(Timestamp::now()));
                spec.lease_duration_seconds = Some(duration_seconds(self.settings.duration));
                lease.spec = Some(spec);
                self.api.replace(&self.settings.name, &params, &lease).await
            }
            (Step::TakeOver, Some(mut lease)) => {
                tracing::info!(lease = %self.settings.name, previous = ?lease.spec.as_ref().and_then(|s| s.holder_identity.clone()), "taking over the leader lease");
                lease.spec = Some(self.claim(lease.spec.as_ref()));
                self.api.replace(&self.settings.name, &params, &lease).await
            }
            (Step::Follow { holder, .. }, _) => {
                tracing::debug!(%holder, "following");
                return Ok(false);
            }
            // Renew or take over of a Lease that is not there: next round creates it.
            (Step::Renew | Step::TakeOver, None) => return Ok(false),
        };
        match written {
            Ok(lease) => {
                // Our own write is a change too: restart the expiry clock.
                if let Some(version) = lease.metadata.resource_version.as_deref() {
                    Observation::observe(&mut self.seen, version, Instant::now());
                }
                Ok(true)
            }
            // Someone else wrote first (AlreadyExists is 409 too).
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A spec naming this replica as holder, continuing `previous`'s count
    /// of transitions.
    fn claim(&self, previous: Option<&LeaseSpec>) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        let transitions = previous
            .and_then(|s| s.lease_transitions)
            .map_or(0, |t| t.saturating_add(1));
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(duration_seconds(self.settings.duration)),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Gives the Lease up if this replica holds it, so a standby need not
    /// wait for it to expire. Call only after every writer has stopped.
    pub async fn release(&mut self) {
        if self.renewed_at.take().is_none() {
            return;
        }
        self.set_role(Role::Follower);
        let released = async {
            let Some(mut lease) = self.api.get_opt(&self.settings.name).await? else {
                return Ok(());
            };
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
                return Ok(());
            }
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(MicroTime(Timestamp::now()));
            let params = PostParams {
                field_manager: Some(self.field_manager.clone()),
                ..PostParams::default()
            };
            self.api
                .replace(&self.settings.name, &params, &lease)
                .await
                .map(|_| ())
        };
        match tokio::time::timeout(self.settings.renew_deadline, released).await {
            Ok(Ok(())) => tracing::info!(lease = %self.settings.name, "released the leader lease"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not release the leader lease"),
            Err(_) => tracing::warn!("releasing the leader lease timed out"),
        }
    }
}

fn duration_seconds(d: Duration) -> i32 {
    // Sub-second leases round up: 0 would mean "expired at once".
    i32::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0))
        .unwrap_or(i32::MAX)
        .max(1)
}

fn view_of(lease: &Lease) -> LeaseView {
    let spec = lease.spec.as_ref();
    LeaseView {
        holder: spec.and_then(|s| s.holder_identity.clone()),
        duration: spec
            .and_then(|s| s.lease_duration_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs),
        version: lease.metadata.resource_version.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_whole_seconds() {
        assert_eq!(duration_seconds(Duration::from_secs(15)), 15);
        assert_eq!(duration_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(duration_seconds(Duration::from_millis(200)), 1);
        assert_eq!(duration_seconds(Duration::ZERO), 1);
    }
}
