//! Why an address could not be assigned. The messages are written for the
//! `AllocationFailed` Event a user sees with `kubectl describe service`.

use std::net::IpAddr;

use ferrolb_api::AddressFamily;

use super::request::{FamilyNeed, PortKey};

/// Why a Service cannot use an address another Service holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SharingConflict {
    /// The holder did not opt into sharing.
    #[error("{other} holds it and does not allow sharing (no allow-shared-ip annotation)")]
    HolderNotShared {
        /// The holding Service, `namespace/name`.
        other: String,
    },
    /// This Service did not opt into sharing.
    #[error("{other} holds it and this Service has no allow-shared-ip annotation")]
    ServiceNotShared {
        /// The holding Service.
        other: String,
    },
    /// Both opted in, with different keys.
    #[error("{other} holds it with sharing key {theirs:?}, not {ours:?}")]
    KeyMismatch {
        /// The holding Service.
        other: String,
        /// The holder's key.
        theirs: String,
        /// This Service's key.
        ours: String,
    },
    /// Same key, but traffic would go to different backends.
    #[error(
        "{other} holds it with a different traffic policy or pod selector; Services sharing an \
         address with externalTrafficPolicy Local must select the same pods"
    )]
    BackendMismatch {
        /// The holding Service.
        other: String,
    },
    /// Another Service gave the address up but its status still lists it.
    #[error("{other} still lists it in its status; it becomes free once that is updated")]
    BeingReleased {
        /// The Service still listing it.
        other: String,
    },
    /// Same key, but a port is used by both.
    #[error("{other} already uses {port} on it")]
    PortConflict {
        /// The holding Service.
        other: String,
        /// The port both use.
        port: PortKey,
    },
}

/// Why a Service got no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    /// The Service's annotations or spec could not be read.
    #[error("{0}")]
    InvalidRequest(String),
    /// The requested addresses do not fit `ipFamilies` / `ipFamilyPolicy`.
    #[error("{reason}")]
    RequestedFamilies {
        /// What does not fit.
        reason: String,
    },
    /// A requested address is in no pool.
    #[error("requested address {ip} is not in any IPAddressPool")]
    NotInAnyPool {
        /// The address.
        ip: IpAddr,
    },
    /// A requested address is one the pool avoids.
    #[error(
        "requested address {ip} is in IPAddressPool {pool:?}, which avoids addresses ending \
         in .0 and .255 (avoidBuggyIPs)"
    )]
    AvoidedAddress {
        /// The address.
        ip: IpAddr,
        /// The pool.
        pool: String,
    },
    /// Two requested addresses are in different pools.
    #[error(
        "requested addresses {first} and {second} are in different IPAddressPools \
         ({first_pool:?} and {second_pool:?}); ask for addresses of one pool"
    )]
    RequestedInDifferentPools {
        /// One address.
        first: IpAddr,
        /// Its pool.
        first_pool: String,
        /// The other address.
        second: IpAddr,
        /// Its pool.
        second_pool: String,
    },
    /// A requested address is outside the pool named by `address-pool`.
    #[error("requested address {ip} is not in IPAddressPool {pool:?} named by the address-pool annotation")]
    NotInNamedPool {
        /// The address.
        ip: IpAddr,
        /// The pool named by the annotation.
        pool: String,
    },
    /// A requested address is held by a Service it cannot be shared with.
    #[error("requested address {ip} is in use: {conflict}")]
    InUse {
        /// The address.
        ip: IpAddr,
        /// Why it cannot be shared.
        conflict: SharingConflict,
    },
    /// The pool named by `address-pool` does not exist.
    #[error("IPAddressPool {pool:?} does not exist")]
    PoolNotFound {
        /// The pool name.
        pool: String,
    },
    /// The pool's `serviceAllocation` does not select this Service.
    #[error(
        "IPAddressPool {pool:?} does not serve this Service (its serviceAllocation selects \
         other namespaces or Services)"
    )]
    PoolNotAllowed {
        /// The pool.
        pool: String,
    },
    /// The named pool has no addresses of a family the Service needs.
    #[error("IPAddressPool {pool:?} has no {family} addresses")]
    FamilyUnavailable {
        /// The pool.
        pool: String,
        /// The missing family.
        family: AddressFamily,
    },
    /// The named pool has no free address of a family the Service needs.
    #[error("IPAddressPool {pool:?} has no free {family} address")]
    PoolExhausted {
        /// The pool.
        pool: String,
        /// The exhausted family.
        family: AddressFamily,
    },
    /// No pool may assign automatically to this Service.
    #[error(
        "no IPAddressPool assigns addresses to this Service automatically (none has autoAssign \
         and a serviceAllocation that selects it); name one with the address-pool annotation"
    )]
    NoEligiblePool,
    /// Every pool that may serve the Service is out of addresses.
    #[error("no eligible IPAddressPool has a free {need} address (tried {})", .tried.join(", "))]
    AllPoolsExhausted {
        /// What the Service needs.
        need: FamilyNeed,
        /// The pools tried, in order.
        tried: Vec<String>,
    },
}

impl AllocationError {
    /// A short, stable name for the failure, for metrics labels.
    pub fn reason(&self) -> &'static str {
        match self {
            AllocationError::InvalidRequest(_) => "invalid_request",
            AllocationError::RequestedFamilies { .. } => "requested_families",
            AllocationError::NotInAnyPool { .. } => "not_in_any_pool",
            AllocationError::AvoidedAddress { .. } => "avoided_address",
            AllocationError::RequestedInDifferentPools { .. } => "requested_in_different_pools",
            AllocationError::NotInNamedPool { .. } => "not_in_named_pool",
            AllocationError::InUse { .. } => "in_use",
            AllocationError::PoolNotFound { .. } => "pool_not_found",
            AllocationError::PoolNotAllowed { .. } => "pool_not_allowed",
            AllocationError::FamilyUnavailable { .. } => "family_unavailable",
            AllocationError::PoolExhausted { .. } => "pool_exhausted",
            AllocationError::NoEligiblePool => "no_eligible_pool",
            AllocationError::AllPoolsExhausted { .. } => "all_pools_exhausted",
        }
    }
}
