//! What the allocator needs to know about one Service, as plain data.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ferrolb_api::{AddressFamily, ServiceReference};

use super::error::AllocationError;

/// `spec.ipFamilyPolicy` of a Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpFamilyPolicy {
    /// One address, of the primary family.
    #[default]
    SingleStack,
    /// Both families if the pool has both, else the primary family only.
    PreferDualStack,
    /// One address of each family, or nothing.
    RequireDualStack,
}

/// One `(protocol, port)` a Service listens on; two Services sharing an
/// address must not have one in common.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortKey {
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// The Service port.
    pub port: i32,
}

impl fmt::Display for PortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.protocol, self.port)
    }
}

/// How a Service may share its addresses with other Services.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SharingInfo {
    /// The `allow-shared-ip` key, if any.
    pub key: Option<String>,
    /// With `externalTrafficPolicy: Local`, the Service's pod selector:
    /// sharing Services must then send traffic to the same pods. `None`
    /// for `externalTrafficPolicy: Cluster`.
    pub local_selector: Option<BTreeMap<String, String>>,
    /// The Service's ports.
    pub ports: Vec<PortKey>,
}

/// A Service asking for load-balancer addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRequest {
    /// The Service.
    pub service: ServiceReference,
    /// The Service's labels (for `serviceSelectors`).
    pub labels: BTreeMap<String, String>,
    /// Its namespace's labels (for `namespaceSelectors`).
    pub namespace_labels: BTreeMap<String, String>,
    /// `spec.ipFamilies[0]`: the family of the first address.
    pub primary_family: AddressFamily,
    /// `spec.ipFamilyPolicy`.
    pub family_policy: IpFamilyPolicy,
    /// Addresses asked for (`loadBalancerIPs` annotation or
    /// `spec.loadBalancerIP`), at most one per family.
    pub requested_ips: Vec<IpAddr>,
    /// Pool asked for with the `address-pool` annotation.
    pub pool: Option<String>,
    /// Pool recorded in `ip-allocated-from-pool`: a hint for [`restore`].
    ///
    /// [`restore`]: super::Allocator::restore
    pub allocated_from_pool: Option<String>,
    /// Sharing key, traffic policy and ports.
    pub sharing: SharingInfo,
}

impl Default for ServiceRequest {
    /// A single-stack IPv4 request with nothing asked for.
    fn default() -> Self {
        ServiceRequest {
            service: ServiceReference::default(),
            labels: BTreeMap::new(),
            namespace_labels: BTreeMap::new(),
            primary_family: AddressFamily::V4,
            family_policy: IpFamilyPolicy::SingleStack,
            requested_ips: Vec::new(),
            pool: None,
            allocated_from_pool: None,
            sharing: SharingInfo::default(),
        }
    }
}

/// The address families a Service needs from a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyNeed {
    /// One address of this family.
    One(AddressFamily),
    /// One IPv4 and one IPv6 address.
    Both,
}

impl fmt::Display for FamilyNeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FamilyNeed::One(family) => write!(f, "{family}"),
            FamilyNeed::Both => f.write_str("IPv4 and IPv6"),
        }
    }
}

/// The other address family.
pub fn other_family(family: AddressFamily) -> AddressFamily {
    match family {
        AddressFamily::V4 => AddressFamily::V6,
        AddressFamily::V6 => AddressFamily::V4,
    }
}

impl ServiceRequest {
    /// The second family, if the policy allows one.
    pub fn secondary_family(&self) -> Option<AddressFamily> {
        match self.family_policy {
            IpFamilyPolicy::SingleStack => None,
            IpFamilyPolicy::PreferDualStack | IpFamilyPolicy::RequireDualStack => {
                Some(other_family(self.primary_family))
            }
        }
    }

    /// The families a pool must supply for the request to succeed.
    pub fn need(&self) -> FamilyNeed {
        match self.family_policy {
            IpFamilyPolicy::RequireDualStack => FamilyNeed::Both,
            _ => FamilyNeed::One(self.primary_family),
        }
    }

    /// Checks that the requested addresses fit the family policy:
    /// single-stack asks for one address of the primary family, require
    /// dual-stack for one of each, prefer dual-stack for the primary family
    /// and optionally the other.
    pub fn check_requested_families(&self) -> Result<(), AllocationError> {
        let ips = &self.requested_ips;
        if ips.is_empty() {
            return Ok(());
        }
        let has = |family| ips.iter().any(|ip| AddressFamily::of(*ip) == family);
        let fail = |reason: String| Err(AllocationError::RequestedFamilies { reason });
        let list = || {
            ips.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let primary = self.primary_family;
        match self.family_policy {
            IpFamilyPolicy::SingleStack if ips.len() > 1 => fail(format!(
                "requested {} but the Service is single-stack {primary}",
                list()
            )),
            IpFamilyPolicy::RequireDualStack if !(has(AddressFamily::V4) && has(AddressFamily::V6)) => {
                fail(format!(
                    "requested only {} but the Service requires dual-stack (one IPv4 and one IPv6 address)",
                    list()
                ))
            }
            _ if !has(primary) => fail(format!(
                "requested {} but the Service's first IP family is {primary}",
                list()
            )),
            _ => Ok(()),
        }
    }

    /// Orders addresses primary family first, as `status.loadBalancer.ingress`
    /// lists them.
    pub fn order_ips(&self, ips: &mut [IpAddr]) {
        ips.sort_by_key(|ip| AddressFamily::of(*ip) != self.primary_family);
    }
}

/// `namespace/name`, as Services are named in messages.
pub fn service_name(service: &ServiceReference) -> String {
    format!("{}/{}", service.namespace, service.name)
}

/// An address as its family and its value.
pub fn to_bits(ip: IpAddr) -> (AddressFamily, u128) {
    match ip {
        IpAddr::V4(a) => (AddressFamily::V4, u128::from(u32::from(a))),
        IpAddr::V6(a) => (AddressFamily::V6, u128::from(a)),
    }
}

/// The address with value `bits` in `family`; IPv4 values above 2^32 - 1
/// (never produced by [`to_bits`]) saturate.
pub fn from_bits(family: AddressFamily, bits: u128) -> IpAddr {
    match family {
        AddressFamily::V4 => IpAddr::V4(Ipv4Addr::from(u32::try_from(bits).unwrap_or(u32::MAX))),
        AddressFamily::V6 => IpAddr::V6(Ipv6Addr::from(bits)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(primary: AddressFamily, policy: IpFamilyPolicy, ips: &[&str]) -> ServiceRequest {
        ServiceRequest {
            primary_family: primary,
            family_policy: policy,
            requested_ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
            ..ServiceRequest::default()
        }
    }

    #[test]
    fn requested_families_must_fit_the_policy() {
        use AddressFamily::{V4, V6};
        use IpFamilyPolicy::*;
        let table: &[(AddressFamily, IpFamilyPolicy, &[&str], Option<&str>)] = &[
            (V4, SingleStack, &[], None),
            (V4, SingleStack, &["192.0.2.1"], None),
            (
                V4,
                SingleStack,
                &["2001:db8::1"],
                Some("requested 2001:db8::1 but the Service's first IP family is IPv4"),
            ),
            (
                V4,
                SingleStack,
                &["192.0.2.1", "2001:db8::1"],
                Some("requested 192.0.2.1, 2001:db8::1 but the Service is single-stack IPv4"),
            ),
            (V6, RequireDualStack, &["192.0.2.1", "2001:db8::1"], None),
            (
                V6,
                RequireDualStack,
                &["2001:db8::1"],
                Some("requested only 2001:db8::1 but the Service requires dual-stack (one IPv4 and one IPv6 address)"),
            ),
            (V6, PreferDualStack, &["2001:db8::1"], None),
            (V6, PreferDualStack, &["2001:db8::1", "192.0.2.1"], None),
            (
                V6,
                PreferDualStack,
                &["192.0.2.1"],
                Some("requested 192.0.2.1 but the Service's first IP family is IPv6"),
            ),
        ];
        for (primary, policy, ips, want) in table {
            let got = req(*primary, *policy, ips).check_requested_families();
            let got = got.err().map(|e| e.to_string());
            assert_eq!(got.as_deref(), *want, "{primary:?} {policy:?} {ips:?}");
        }
    }

    #[test]
    fn addresses_round_trip_through_bits() {
        for s in [
            "0.0.0.0",
            "192.0.2.255",
            "255.255.255.255",
            "::",
            "2001:db8::1",
        ] {
            let ip: IpAddr = s.parse().unwrap();
            let (family, bits) = to_bits(ip);
            assert_eq!(from_bits(family, bits), ip);
        }
        let mut ips: Vec<IpAddr> =
            vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()];
        req(AddressFamily::V6, IpFamilyPolicy::RequireDualStack, &[]).order_ips(&mut ips);
        assert_eq!(ips[0].to_string(), "2001:db8::1");
    }
}
