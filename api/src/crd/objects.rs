//! A set of FerroLB configuration objects, as the controller sees them in the
//! cluster or `lbctl` reads them from manifests.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::advertisement::{BGPAdvertisement, L2Advertisement};
use super::bfd::BFDProfile;
use super::peer::BGPPeer;
use super::pool::IPAddressPool;
use super::{API_VERSION, SPEC_DEFAULTED_KINDS};

/// Every FerroLB configuration object of a cluster (or manifest set).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterObjects {
    /// IPAddressPools.
    pub pools: Vec<IPAddressPool>,
    /// BGPPeers.
    pub peers: Vec<BGPPeer>,
    /// BGPAdvertisements.
    pub bgp_advertisements: Vec<BGPAdvertisement>,
    /// L2Advertisements.
    pub l2_advertisements: Vec<L2Advertisement>,
    /// BFDProfiles.
    pub bfd_profiles: Vec<BFDProfile>,
}

/// A manifest document that could not be read as a FerroLB object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {document}: {reason}")]
pub struct ManifestError {
    /// Index of the YAML document (0-based) in the input.
    pub document: usize,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeMeta {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    items: Vec<serde_yaml::Value>,
}

impl ClusterObjects {
    /// Reads multi-document YAML (as given to `kubectl apply -f`),
    /// including `kind: List` documents. Objects of other API groups and
    /// FerroLB's speaker-written status kinds are skipped; an unknown
    /// `ferrolb.io` kind or a malformed object is an error.
    pub fn from_yaml_str(yaml: &str) -> Result<Self, ManifestError> {
        let mut objects = ClusterObjects::default();
        for (document, de) in serde_yaml::Deserializer::from_str(yaml).enumerate() {
            let fail = |reason: String| ManifestError { document, reason };
            let value = serde_yaml::Value::deserialize(de).map_err(|e| fail(e.to_string()))?;
            objects.add_value(value).map_err(fail)?;
        }
        Ok(objects)
    }

    fn add_value(&mut self, value: serde_yaml::Value) -> Result<(), String> {
        if value.is_null() {
            return Ok(());
        }
        let meta: TypeMeta = serde_yaml::from_value(value.clone()).map_err(|e| e.to_string())?;
        if meta.kind == "List" {
            return meta
                .items
                .into_iter()
                .try_for_each(|item| self.add_value(item));
        }
        if meta.api_version != API_VERSION {
            return Ok(());
        }
        let kind = meta.kind.as_str();
        match kind {
            "IPAddressPool" => self.pools.push(decode(kind, value)?),
            "BGPPeer" => self.peers.push(decode(kind, value)?),
            "BGPAdvertisement" => self.bgp_advertisements.push(decode(kind, value)?),
            "L2Advertisement" => self.l2_advertisements.push(decode(kind, value)?),
            "BFDProfile" => self.bfd_profiles.push(decode(kind, value)?),
            "ServiceAnnouncement" | "BGPSessionState" => {}
            other => return Err(format!("unknown kind {other:?} in {API_VERSION}")),
        }
        Ok(())
    }
}

fn decode<T: DeserializeOwned>(kind: &str, mut value: serde_yaml::Value) -> Result<T, String> {
    // The API server fills in `spec: {}` for these kinds (see
    // `SPEC_DEFAULTED_KINDS`); do the same so manifests decode identically.
    if SPEC_DEFAULTED_KINDS.contains(&kind) {
        if let Some(map) = value.as_mapping_mut() {
            let key = serde_yaml::Value::from("spec");
            if map.get(&key).is_none_or(serde_yaml::Value::is_null) {
                map.insert(key, serde_yaml::Value::Mapping(Default::default()));
            }
        }
    }
    serde_path_to_error::deserialize(value).map_err(|e| format!("{kind}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_multi_document_manifests_and_lists() {
        let yaml = r#"
apiVersion: ferrolb.io/v1alpha1
kind: IPAddressPool
metadata: {name: a}
spec: {addresses: [192.0.2.0/28]}
---
apiVersion: v1
kind: Secret
metadata: {name: bgp-auth}
---
apiVersion: v1
kind: List
items:
  - apiVersion: ferrolb.io/v1alpha1
    kind: BGPPeer
    metadata: {name: r1}
    spec: {myASN: 64513, peerASN: 64512, peerAddress: 10.0.0.1}
  - apiVersion: ferrolb.io/v1alpha1
    kind: L2Advertisement
    metadata: {name: l2}
---
"#;
        let objects = ClusterObjects::from_yaml_str(yaml).unwrap();
        assert_eq!(objects.pools.len(), 1);
        assert_eq!(objects.peers.len(), 1);
        assert_eq!(objects.l2_advertisements.len(), 1);
        assert_eq!(objects.peers[0].metadata.name.as_deref(), Some("r1"));
    }

    #[test]
    fn reports_the_failing_document() {
        let yaml =
            "apiVersion: ferrolb.io/v1alpha1\nkind: BGPPeer\nmetadata: {name: x}\nspec: {}\n";
        let err = ClusterObjects::from_yaml_str(yaml).unwrap_err();
        assert_eq!(err.document, 0);
        assert!(
            err.reason
                .starts_with("BGPPeer: spec: missing field `myASN`"),
            "{err}"
        );

        let yaml = "a: 1\n---\napiVersion: ferrolb.io/v1alpha1\nkind: Pool\n";
        let err = ClusterObjects::from_yaml_str(yaml).unwrap_err();
        assert_eq!(
            err,
            ManifestError {
                document: 1,
                reason: "unknown kind \"Pool\" in ferrolb.io/v1alpha1".into()
            }
        );
    }
}
