//! The one validator shared by the controller's admission checks, `lbctl
//! validate` and the router daemon's config loader.
//!
//! Everything here is pure: it looks only at the values passed in. Each
//! problem is reported as a [`ValidationError`] naming the object, the
//! field (as a JSON path such as `spec.addresses[1]`) and the reason; all
//! problems are reported, not just the first.

mod common;
mod objects;
mod router;
mod router_services;

#[cfg(test)]
mod tests_objects;
#[cfg(test)]
mod tests_router;

use std::fmt;

pub use crate::crd::objects::ClusterObjects;
use crate::router_config::RouterConfig;

/// The kind of object a [`ValidationError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    /// An `IPAddressPool`.
    IPAddressPool,
    /// A `BGPPeer`.
    BGPPeer,
    /// A `BGPAdvertisement`.
    BGPAdvertisement,
    /// An `L2Advertisement`.
    L2Advertisement,
    /// A `BFDProfile`.
    BFDProfile,
    /// The router daemon's configuration file.
    RouterConfig,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One problem found by the validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Kind of the offending object.
    pub kind: ObjectKind,
    /// Name of the offending object (`metadata.name`, or the config file's
    /// path for the router configuration; may be empty).
    pub name: String,
    /// JSON-path-like location of the field, e.g. `spec.addresses[1]`.
    pub field: String,
    /// What is wrong, in words meant for the user.
    pub reason: String,
}

impl fmt::Display for ValidationError {
    /// `IPAddressPool "public": spec.addresses[1]: range start 10.0.0.9 is
    /// after end 10.0.0.1`; without a name, `RouterConfig: field: reason`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "{}: {}: {}", self.kind, self.field, self.reason)
        } else {
            write!(
                f,
                "{} {:?}: {}: {}",
                self.kind, self.name, self.field, self.reason
            )
        }
    }
}

impl std::error::Error for ValidationError {}

/// Collects errors about one object.
pub(crate) struct Report<'a> {
    kind: ObjectKind,
    name: &'a str,
    errors: &'a mut Vec<ValidationError>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(
        kind: ObjectKind,
        name: &'a str,
        errors: &'a mut Vec<ValidationError>,
    ) -> Self {
        Report { kind, name, errors }
    }

    /// Records a problem with `field`.
    pub(crate) fn error(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(ValidationError {
            kind: self.kind,
            name: self.name.to_owned(),
            field: field.into(),
            reason: reason.into(),
        });
    }
}

/// Validates a complete set of cluster objects: each object on its own and
/// the rules that span objects (overlapping pools, duplicate names,
/// references to pools, peers and BFD profiles that do not exist).
pub fn validate_objects(objects: &ClusterObjects) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    objects::validate(objects, &mut errors);
    errors
}

/// Validates a router configuration.
pub fn validate_router_config(config: &RouterConfig) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    let mut report = Report::new(ObjectKind::RouterConfig, "", &mut errors);
    router::validate(config, &mut report);
    router_services::validate(config, &mut report);
    errors
}
