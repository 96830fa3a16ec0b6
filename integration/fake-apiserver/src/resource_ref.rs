//! Naming a resource type from test code.

use std::fmt;

/// A group/version/plural triple naming a resource type, as used by the test-facing
/// [`Store`](crate::Store) API and in write records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceRef {
    /// API group, empty for core.
    pub group: String,
    /// API version, e.g. `v1`.
    pub version: String,
    /// Plural resource name, e.g. `services`.
    pub plural: String,
}

impl ResourceRef {
    /// A resource in any group.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        plural: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
        }
    }

    /// A core `v1` resource such as `services`.
    pub fn core(plural: impl Into<String>) -> Self {
        Self::new("", "v1", plural)
    }

    /// The resource of a statically typed Kubernetes object (k8s-openapi types, `#[derive(CustomResource)]`).
    pub fn of<K: kube::Resource<DynamicType = ()>>() -> Self {
        Self::new(K::group(&()), K::version(&()), K::plural(&()))
    }

    /// The resource described by a kube `ApiResource` (dynamic types).
    pub fn from_api_resource(ar: &kube::api::ApiResource) -> Self {
        Self::new(ar.group.clone(), ar.version.clone(), ar.plural.clone())
    }

    /// `group/version`, or just `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.api_version(), self.plural)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::Service;

    #[test]
    fn from_typed_resources() {
        assert_eq!(ResourceRef::of::<Service>(), ResourceRef::core("services"));
        assert_eq!(
            ResourceRef::of::<Lease>(),
            ResourceRef::new("coordination.k8s.io", "v1", "leases")
        );
        assert_eq!(
            ResourceRef::of::<Lease>().to_string(),
            "coordination.k8s.io/v1/leases"
        );
    }
}
