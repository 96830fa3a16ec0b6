//! FerroLB's shared API model, used by the controller, the speaker, the
//! router daemon and `lbctl`:
//!
//! - [`crd`]: the Kubernetes custom resources (`ferrolb.io/v1alpha1`) and
//!   their CustomResourceDefinitions;
//! - [`annotations`]: the Service annotations FerroLB reads and writes,
//!   including MetalLB's spellings;
//! - [`router_config`]: the router daemon's YAML configuration;
//! - [`validate`]: the one validator for both;
//! - [`admin`]: the router's admin API responses, served by the router and read by `lbctl`;
//! - typed helpers for the string forms used in them: [`AddressBlock`],
//!   [`BgpCommunity`] and [`Duration`].
//!
//! The most used items are re-exported at the crate root.
#![warn(missing_docs)]

pub mod address;
pub mod admin;
pub mod annotations;
pub mod community;
pub mod crd;
pub mod duration;
pub mod kubeconfig;
pub mod router_config;
mod serde_str;
pub mod validate;

pub use address::{AddressBlock, AddressBlockError, AddressFamily};
pub use annotations::{AnnotationError, ServiceAnnotations};
pub use community::{BgpCommunity, Community, CommunityParseError, LargeCommunity};
pub use crd::advertisement::{
    BGPAdvertisement, BGPAdvertisementSpec, L2Advertisement, L2AdvertisementSpec,
};
pub use crd::bfd::{BFDProfile, BFDProfileSpec};
pub use crd::objects::{ClusterObjects, ManifestError};
pub use crd::peer::{BGPPeer, BGPPeerSpec};
pub use crd::pool::{IPAddressPool, IPAddressPoolSpec, IPAddressPoolStatus, ServiceAllocation};
pub use crd::selector::{any_selector_matches, selector_matches, LabelSelector};
pub use crd::status::{
    AnnouncedPeerSession, AnnouncementProtocol, BGPSessionState, BGPSessionStateSpec,
    BGPSessionStateStatus, BfdSessionStatus, BfdState, ServiceAnnouncement,
    ServiceAnnouncementSpec, ServiceAnnouncementStatus, ServiceReference, SessionState,
};
pub use crd::{API_VERSION, GROUP, VERSION};
pub use duration::{Duration, DurationParseError};
pub use router_config::{ConfigError, RouterConfig};
pub use validate::{validate_objects, validate_router_config, ObjectKind, ValidationError};
