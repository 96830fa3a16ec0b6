//! Type-specific behaviour of built-in resources that clients can observe:
//! Service defaulting, validation and ClusterIP/NodePort allocation,
//! Namespace defaults, and the status the CRD controllers publish.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::{json, Map, Value};

use crate::registry::ResourceDef;
use crate::status::FieldCause;

/// The built-in types with behaviour beyond generic storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// core/v1 services
    Service,
    /// core/v1 namespaces
    Namespace,
    /// apiextensions.k8s.io/v1 customresourcedefinitions
    Crd,
    /// everything else
    None,
}

impl Special {
    /// Classifies a resource type.
    pub fn of(def: &ResourceDef) -> Self {
        match (def.group.as_str(), def.plural.as_str(), &def.origin) {
            ("", "services", crate::registry::Origin::Builtin) => Special::Service,
            ("", "namespaces", crate::registry::Origin::Builtin) => Special::Namespace,
            ("apiextensions.k8s.io", "customresourcedefinitions", _) => Special::Crd,
            _ => Special::None,
        }
    }
}

const SERVICE_TYPES: [&str; 4] = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
/// First address handed out from the service CIDR 10.96.0.0/12.
const SERVICE_CIDR_FIRST: u32 = u32::from_be_bytes([10, 96, 0, 10]);
const SERVICE_CIDR_LAST: u32 = u32::from_be_bytes([10, 111, 255, 254]);
const NODE_PORT_RANGE: std::ops::RangeInclusive<u16> = 30000..=32767;

fn spec_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let map = obj.as_object_mut()?;
    let spec = map.entry("spec").or_insert_with(|| json!({}));
    spec.as_object_mut()
}

fn set_default(m: &mut Map<String, Value>, key: &str, value: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.into(), value);
    }
}

fn service_type(obj: &Value) -> &str {
    obj.pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
}

fn wants_node_ports(obj: &Value) -> bool {
    match service_type(obj) {
        "NodePort" => true,
        "LoadBalancer" => obj.pointer("/spec/allocateLoadBalancerNodePorts") != Some(&json!(false)),
        _ => false,
    }
}

fn wants_health_check_port(obj: &Value) -> bool {
    service_type(obj) == "LoadBalancer"
        && obj
            .pointer("/spec/externalTrafficPolicy")
            .and_then(Value::as_str)
            == Some("Local")
}

/// Applies the server's defaults for a (create or update) object.
pub fn apply_defaults(special: Special, obj: &mut Value) {
    match special {
        Special::Service => default_service(obj),
        Special::Namespace => {
            let name = crate::object::name(obj).to_string();
            if let Some(m) = crate::object::meta_mut(obj) {
                let labels = m.entry("labels").or_insert_with(|| json!({}));
                if let Some(l) = labels.as_object_mut() {
                    l.insert("kubernetes.io/metadata.name".into(), json!(name));
                }
            }
            if let Some(spec) = spec_mut(obj) {
                set_default(spec, "finalizers", json!(["kubernetes"]));
            }
        }
        Special::Crd | Special::None => {}
    }
}

fn default_service(obj: &mut Value) {
    let ty = service_type(obj).to_string();
    let Some(spec) = spec_mut(obj) else { return };
    set_default(spec, "type", json!(ty));
    set_default(spec, "sessionAffinity", json!("None"));
    if ty != "ExternalName" {
        set_default(spec, "ipFamilies", json!(["IPv4"]));
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(port, "protocol", json!("TCP"));
            if let Some(p) = port.get("port").cloned() {
                set_default(port, "targetPort", p);
            }
        }
    }
}

/// Type-specific validation; `old` is the stored object on update.
pub fn validate(special: Special, old: Option<&Value>, new: &Value) -> Vec<FieldCause> {
    if special != Special::Service {
        return Vec::new();
    }
    let mut causes = Vec::new();
    let ty = service_type(new);
    if !SERVICE_TYPES.contains(&ty) {
        causes.push(FieldCause {
            reason: "FieldValueNotSupported",
            field: "spec.type".into(),
            message: format!(
                "Unsupported value: {}: supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
                json!(ty)
            ),
        });
    }
    let ports = new.pointer("/spec/ports").and_then(Value::as_array);
    let headless = new.pointer("/spec/clusterIP").and_then(Value::as_str) == Some("None");
    if ty != "ExternalName" && !headless && ports.is_none_or(Vec::is_empty) {
        causes.push(FieldCause::required("spec.ports", ""));
    }
    for (i, p) in ports.into_iter().flatten().enumerate() {
        let valid = p
            .get("port")
            .and_then(Value::as_i64)
            .is_some_and(|n| (1..=65535).contains(&n));
        if !valid {
            causes.push(FieldCause::invalid(
                format!("spec.ports[{i}].port"),
                p.get("port").unwrap_or(&Value::Null),
                "must be between 1 and 65535, inclusive",
            ));
        }
    }
    if let Some(old) = old {
        let old_ip = old
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let new_ip = new
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !old_ip.is_empty()
            && service_type(old) != "ExternalName"
            && ty != "ExternalName"
            && old_ip != new_ip
        {
            causes.push(FieldCause::invalid(
                "spec.clusterIP",
                &json!(new_ip),
                "field is immutable",
            ));
        }
        let old_class = old.pointer("/spec/loadBalancerClass");
        let new_class = new.pointer("/spec/loadBalancerClass");
        if service_type(old) == "LoadBalancer" && ty == "LoadBalancer" && old_class != new_class {
            causes.push(FieldCause::invalid(
                "spec.loadBalancerClass",
                new_class.unwrap_or(&Value::Null),
                "may not change once set",
            ));
        }
    }
    causes
}

/// On update, keeps allocated values (ClusterIP, NodePorts) the new object leaves unset,
/// as the real server does for Services.
pub fn carry_allocations(special: Special, old: &Value, new: &mut Value) {
    if special != Special::Service || service_type(new) == "ExternalName" {
        return;
    }
    let Some(spec) = spec_mut(new) else { return };
    for key in ["clusterIP", "clusterIPs"] {
        if spec.get(key).is_none_or(|v| v.is_null() || v == "") {
            if let Some(v) = old.pointer(&format!("/spec/{key}")) {
                spec.insert(key.into(), v.clone());
            }
        }
    }
    if spec.get("healthCheckNodePort").is_none() {
        if let Some(v) = old.pointer("/spec/healthCheckNodePort") {
            spec.insert("healthCheckNodePort".into(), v.clone());
        }
    }
    let old_ports = old
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            if port.get("nodePort").is_some() {
                continue;
            }
            let same = old_ports.iter().find(|o| {
                o.get("port") == port.get("port") && o.get("protocol") == port.get("protocol")
            });
            if let Some(np) = same.and_then(|o| o.get("nodePort")) {
                port.insert("nodePort".into(), np.clone());
            }
        }
    }
}

/// ClusterIPs and NodePorts already taken by stored Services.
#[derive(Debug, Default)]
pub struct Allocations {
    /// Taken cluster IPs.
    pub ips: BTreeSet<u32>,
    /// Taken node ports.
    pub ports: BTreeSet<u16>,
}

impl Allocations {
    /// Collects the allocations of the given Services.
    pub fn of<'a>(services: impl Iterator<Item = &'a Value>) -> Self {
        let mut a = Allocations::default();
        for svc in services {
            if let Some(ip) = svc
                .pointer("/spec/clusterIP")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Ipv4Addr>().ok())
            {
                a.ips.insert(u32::from(ip));
            }
            for p in svc
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = p
                    .get("nodePort")
                    .and_then(Value::as_u64)
                    .and_then(|n| u16::try_from(n).ok())
                {
                    a.ports.insert(n);
                }
            }
            if let Some(n) = svc
                .pointer("/spec/healthCheckNodePort")
                .and_then(Value::as_u64)
                .and_then(|n| u16::try_from(n).ok())
            {
                a.ports.insert(n);
            }
        }
        a
    }

    fn next_ip(&mut self) -> Option<Ipv4Addr> {
        let ip = (SERVICE_CIDR_FIRST..=SERVICE_CIDR_LAST).find(|ip| !self.ips.contains(ip))?;
        self.ips.insert(ip);
        Some(Ipv4Addr::from(ip))
    }

    fn next_port(&mut self) -> Option<u16> {
        let port = NODE_PORT_RANGE.clone().find(|p| !self.ports.contains(p))?;
        self.ports.insert(port);
        Some(port)
    }
}

/// Whether [`allocate`] has anything to do: the Service lacks a ClusterIP or a
/// NodePort it should have. Lets writes of Services that have them (status
/// updates, annotations) skip collecting every other Service's allocations.
pub fn needs_allocation(special: Special, obj: &Value) -> bool {
    if special != Special::Service || service_type(obj) == "ExternalName" {
        return false;
    }
    let spec = &obj["spec"];
    let missing_ip =
        spec["clusterIP"].as_str().is_none_or(str::is_empty) || spec.get("clusterIPs").is_none();
    let missing_port = wants_node_ports(obj)
        && spec["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p.get("nodePort").is_none_or(Value::is_null));
    let missing_health = wants_health_check_port(obj) && spec.get("healthCheckNodePort").is_none();
    missing_ip || missing_port || missing_health
}

/// Allocates a ClusterIP and NodePorts a Service still lacks. Returns an error message
/// when a range is exhausted.
pub fn allocate(special: Special, obj: &mut Value, taken: &mut Allocations) -> Result<(), String> {
    if special != Special::Service || service_type(obj) == "ExternalName" {
        return Ok(());
    }
    let node_ports = wants_node_ports(obj);
    let health = wants_health_check_port(obj);
    let Some(spec) = spec_mut(obj) else {
        return Ok(());
    };
    let ip = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if ip.is_empty() {
        let ip = taken
            .next_ip()
            .ok_or("range is full: no more cluster IPs")?;
        spec.insert("clusterIP".into(), json!(ip.to_string()));
        spec.insert("clusterIPs".into(), json!([ip.to_string()]));
    } else if spec.get("clusterIPs").is_none() {
        spec.insert("clusterIPs".into(), json!([ip]));
    }
    if node_ports {
        for port in spec
            .get_mut("ports")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            if port.get("nodePort").is_none_or(Value::is_null) {
                let n = taken
                    .next_port()
                    .ok_or("range is full: no more node ports")?;
                port.insert("nodePort".into(), json!(n));
            }
        }
    }
    if health && spec.get("healthCheckNodePort").is_none() {
        let n = taken
            .next_port()
            .ok_or("range is full: no more node ports")?;
        spec.insert("healthCheckNodePort".into(), json!(n));
    }
    Ok(())
}

/// Marks an object as being deleted (what DELETE does to an object that must wait
/// for finalizers, or to a namespace or CRD that must first be emptied).
pub fn mark_terminating(special: Special, obj: &mut Value, now: &str) {
    if let Some(m) = crate::object::meta_mut(obj) {
        m.insert("deletionTimestamp".into(), json!(now));
        m.insert("deletionGracePeriodSeconds".into(), json!(0));
    }
    if !matches!(special, Special::Namespace | Special::Crd) {
        return;
    }
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let status = map.entry("status").or_insert_with(|| json!({}));
    let Some(status) = status.as_object_mut() else {
        return;
    };
    match special {
        Special::Namespace => {
            status.insert("phase".into(), json!("Terminating"));
        }
        Special::Crd => {
            let conditions = status.entry("conditions").or_insert_with(|| json!([]));
            if let Some(c) = conditions.as_array_mut() {
                c.retain(|c| c.get("type").and_then(Value::as_str) != Some("Terminating"));
                c.push(json!({
                    "type": "Terminating",
                    "status": "True",
                    "lastTransitionTime": now,
                    "reason": "InstanceDeletionInProgress",
                    "message": "CustomResource deletion is in progress",
                }));
            }
        }
        Special::Service | Special::None => {}
    }
}

/// The status a freshly created object gets from the server or its controllers.
pub fn initial_status(special: Special, obj: &Value, now: &str) -> Option<Value> {
    match special {
        Special::Service => Some(json!({"loadBalancer": {}})),
        Special::Namespace => Some(json!({"phase": "Active"})),
        Special::Crd => Some(crate::crd::accepted_status(obj, now)),
        Special::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lb() -> Value {
        json!({"metadata": {"name": "web"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})
    }

    #[test]
    fn service_defaults_and_allocation() {
        let mut svc = lb();
        apply_defaults(Special::Service, &mut svc);
        assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], 80);
        assert_eq!(svc["spec"]["externalTrafficPolicy"], "Cluster");
        let mut taken = Allocations::of(
            [json!({"spec": {"clusterIP": "10.96.0.10", "ports": [{"nodePort": 30000}]}})].iter(),
        );
        assert!(needs_allocation(Special::Service, &svc));
        allocate(Special::Service, &mut svc, &mut taken).unwrap();
        assert!(!needs_allocation(Special::Service, &svc));
        assert_eq!(svc["spec"]["clusterIP"], "10.96.0.11");
        assert_eq!(svc["spec"]["clusterIPs"], json!(["10.96.0.11"]));
        assert_eq!(svc["spec"]["ports"][0]["nodePort"], 30001);
    }

    #[test]
    fn no_node_ports_when_disabled_or_cluster_ip() {
        for spec in [
            json!({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false, "ports": [{"port": 80}]}),
            json!({"type": "ClusterIP", "ports": [{"port": 80}]}),
        ] {
            let mut svc = json!({"spec": spec});
            allocate(Special::Service, &mut svc, &mut Allocations::default()).unwrap();
            assert!(svc["spec"]["ports"][0].get("nodePort").is_none());
        }
    }

    #[test]
    fn service_validation() {
        let cases = [
            (
                json!({"spec": {"type": "Weird", "ports": [{"port": 1}]}}),
                "spec.type",
            ),
            (json!({"spec": {"type": "ClusterIP"}}), "spec.ports"),
            (
                json!({"spec": {"ports": [{"port": 70000}]}}),
                "spec.ports[0].port",
            ),
        ];
        for (svc, field) in cases {
            let causes = validate(Special::Service, None, &svc);
            assert!(causes.iter().any(|c| c.field == field), "{svc}: {causes:?}");
        }
        assert!(validate(Special::Service, None, &lb()).is_empty());
        let old = json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "loadBalancerClass": "a", "ports": [{"port": 1}]}});
        let new = json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.11", "loadBalancerClass": "b", "ports": [{"port": 1}]}});
        let fields: Vec<String> = validate(Special::Service, Some(&old), &new)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(fields, ["spec.clusterIP", "spec.loadBalancerClass"]);
    }

    #[test]
    fn update_keeps_allocations() {
        let old = json!({"spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31000}]}});
        let mut new =
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP"}]}});
        carry_allocations(Special::Service, &old, &mut new);
        assert_eq!(new["spec"]["clusterIP"], "10.96.0.10");
        assert_eq!(new["spec"]["ports"][0]["nodePort"], 31000);
    }

    #[test]
    fn namespace_defaults() {
        let mut ns = json!({"metadata": {"name": "team"}});
        apply_defaults(Special::Namespace, &mut ns);
        assert_eq!(
            ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team"
        );
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    }
}
