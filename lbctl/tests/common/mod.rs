//! A fake cluster with FerroLB's CRDs, a stand-in router admin API, and a
//! way to run the real `lbctl` binary against them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use ferrolb_fake_apiserver::{FakeApiServer, ResourceRef};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::PostParams;
use kube::Api;
use serde_json::{json, Value};

/// FerroLB's namespace in these tests.
pub const NAMESPACE: &str = "ferrolb-system";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fake API server with the CRDs installed, and a scratch directory
/// holding its kubeconfig; removed on drop.
pub struct Cluster {
    pub server: FakeApiServer,
    pub dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a run of lbctl produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with the whole output unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code {} (want {code})\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Panics with the whole output unless stdout contains `needle`.
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.contains(needle),
            "{needle:?} not in stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics with the whole output unless stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "{needle:?} not in stderr:\n{}\nstdout:\n{}",
            self.stderr,
            self.stdout
        );
        self
    }
}

pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lbctl-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs lbctl (under `program`'s name) with `args`, `HOME` in `dir` so no
/// user config leaks in, and `NO_COLOR` unset.
pub async fn run_program(program: &Path, dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env("HOME", dir)
        .env_remove("NO_COLOR")
        .env_remove("KUBECONFIG")
        .env_remove("FERROLB_NAMESPACE")
        .env_remove("FERROLB_LB_CLASS")
        .env_remove("LBCTL_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    Run::from(child.wait_with_output().await.unwrap())
}

/// lbctl with `dir` as its home and `dir/kubeconfig` as its kubeconfig.
pub async fn lbctl_in(dir: &Path, args: &[&str]) -> Run {
    let kubeconfig = dir.join("kubeconfig");
    let mut all = vec!["--kubeconfig", kubeconfig.to_str().unwrap()];
    all.extend_from_slice(args);
    run_program(Path::new(env!("CARGO_BIN_EXE_lbctl")), dir, &all, None).await
}

/// lbctl without a cluster.
pub async fn lbctl_offline(args: &[&str], stdin: Option<&str>) -> Run {
    let dir = scratch_dir();
    let run = run_program(Path::new(env!("CARGO_BIN_EXE_lbctl")), &dir, args, stdin).await;
    let _ = std::fs::remove_dir_all(&dir);
    run
}

impl Cluster {
    pub async fn start() -> Cluster {
        let server = FakeApiServer::start().await.unwrap();
        let crds: Api<CustomResourceDefinition> = Api::all(server.client());
        for crd in ferrolb_api::crd::all_crds() {
            crds.create(&PostParams::default(), &crd).await.unwrap();
        }
        let dir = scratch_dir();
        server.write_kubeconfig(dir.join("kubeconfig")).unwrap();
        let cluster = Cluster { server, dir };
        for ns in [NAMESPACE, "default", "web"] {
            cluster.seed(
                ResourceRef::core("namespaces"),
                json!({"metadata": {"name": ns}}),
            );
        }
        cluster
    }

    /// Stores an object as is (status included).
    pub fn seed(&self, r: ResourceRef, obj: Value) {
        self.server.store().seed(&r, obj).unwrap();
    }

    /// A FerroLB object in FerroLB's namespace.
    pub fn ferrolb(&self, plural: &str, kind: &str, name: &str, rest: Value) {
        let mut obj = json!({
            "apiVersion": "ferrolb.io/v1alpha1", "kind": kind,
            "metadata": {"name": name, "namespace": NAMESPACE},
        });
        for (k, v) in rest.as_object().unwrap() {
            obj[k] = v.clone();
        }
        self.seed(ResourceRef::new("ferrolb.io", "v1alpha1", plural), obj);
    }

    pub fn pool(&self, name: &str, spec: Value) {
        self.ferrolb(
            "ipaddresspools",
            "IPAddressPool",
            name,
            json!({"spec": spec}),
        );
    }

    /// A LoadBalancer Service `ns/name` holding `ips` from `pool`.
    pub fn lb_service(&self, key: &str, pool: Option<&str>, ips: &[&str], extra_spec: Value) {
        let (ns, name) = key.split_once('/').unwrap();
        let mut spec = json!({"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]});
        for (k, v) in extra_spec.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let annotations = match pool {
            Some(p) => json!({"ferrolb.io/ip-allocated-from-pool": p}),
            None => json!({}),
        };
        let ingress: Vec<Value> = ips.iter().map(|ip| json!({"ip": ip})).collect();
        self.seed(
            ResourceRef::core("services"),
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns, "annotations": annotations,
                             "creationTimestamp": "2026-11-22T05:00:00Z"},
                "spec": spec,
                "status": {"loadBalancer": {"ingress": ingress}},
            }),
        );
    }

    /// An events.k8s.io/v1 Event about Service `ns/name`.
    pub fn service_event(&self, key: &str, type_: &str, reason: &str, note: &str, time: &str) {
        let (ns, name) = key.split_once('/').unwrap();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        self.seed(
            ResourceRef::new("events.k8s.io", "v1", "events"),
            json!({
                "apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": format!("{name}.{n}"), "namespace": ns},
                "eventTime": time, "reportingController": "ferrolb.io/controller",
                "reportingInstance": "controller-0", "action": "Allocate",
                "type": type_, "reason": reason, "note": note,
                "regarding": {"kind": "Service", "apiVersion": "v1", "namespace": ns, "name": name},
            }),
        );
    }

    /// An EndpointSlice for Service `ns/name`: `(address, node, ready)`.
    pub fn endpoints(&self, key: &str, endpoints: &[(&str, &str, bool)]) {
        let (ns, name) = key.split_once('/').unwrap();
        let eps: Vec<Value> = endpoints
            .iter()
            .map(|(a, n, r)| json!({"addresses": [a], "nodeName": n, "conditions": {"ready": r}}))
            .collect();
        self.seed(
            ResourceRef::new("discovery.k8s.io", "v1", "endpointslices"),
            json!({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": format!("{name}-abcde"), "namespace": ns,
                             "labels": {"kubernetes.io/service-name": name}},
                "addressType": "IPv4", "endpoints": eps,
            }),
        );
    }

    pub fn node(&self, name: &str) {
        self.seed(
            ResourceRef::core("nodes"),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}),
        );
    }

    /// A Node with an InternalIP.
    pub fn node_at(&self, name: &str, address: &str) {
        self.seed(
            ResourceRef::core("nodes"),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                   "status": {"addresses": [{"type": "InternalIP", "address": address}]}}),
        );
    }

    /// A speaker's ServiceAnnouncement.
    pub fn announcement(&self, node: &str, key: &str, protocol: &str, ips: &[&str]) {
        let (ns, name) = key.split_once('/').unwrap();
        self.ferrolb(
            "serviceannouncements",
            "ServiceAnnouncement",
            &format!("{node}-{ns}-{name}-{protocol}"),
            json!({
                "metadata": {"name": format!("{node}-{ns}-{name}-{protocol}"), "namespace": NAMESPACE,
                             "labels": {"ferrolb.io/node": node}},
                "spec": {"node": node, "service": {"namespace": ns, "name": name}, "protocol": protocol},
                "status": {"ips": ips, "peers": ["r1"], "interfaces": if protocol == "l2" { vec!["eth0"] } else { vec![] }},
            }),
        );
    }

    /// A speaker's BGPSessionState.
    pub fn session(&self, node: &str, peer: &str, address: &str, state: &str) {
        self.ferrolb(
            "bgpsessionstates",
            "BGPSessionState",
            &format!("{node}-{peer}"),
            json!({
                "metadata": {"name": format!("{node}-{peer}"), "namespace": NAMESPACE,
                             "labels": {"ferrolb.io/node": node}},
                "spec": {"node": node, "peer": peer, "peerAddress": address},
                "status": {"state": state, "since": "2026-11-22T06:00:00Z",
                           "prefixesSent": 1, "prefixesReceived": 0},
            }),
        );
    }

    /// Runs lbctl against this cluster.
    pub async fn lbctl(&self, args: &[&str]) -> Run {
        lbctl_in(&self.dir, args).await
    }

    /// The IPAddressPool `name`'s spec.addresses, as stored.
    pub fn pool_addresses(&self, name: &str) -> Option<Vec<String>> {
        let pool = self.server.store().get(
            &ResourceRef::new("ferrolb.io", "v1alpha1", "ipaddresspools"),
            Some(NAMESPACE),
            name,
        )?;
        serde_json::from_value(pool["spec"]["addresses"].clone()).ok()
    }
}

/// The router admin API's JSON as ferrolb-router serves it.
#[derive(Clone)]
pub struct RouterState {
    pub peers: Value,
    pub routes: Value,
    pub fib: Value,
    pub token: Option<String>,
}

/// A router neighbour entry (`/api/v1/peers`).
pub fn router_peer(address: &str, established: bool) -> Value {
    json!({
        "address": address, "asn": 64512,
        "state": if established { "Established" } else { "Active" },
        "established": established,
        "uptimeSeconds": if established { json!(300) } else { Value::Null },
        "dynamic": true,
        "lastDown": if established { Value::Null } else { json!("connection refused") },
        "prefixes": {"received": 1, "accepted": 1, "rejected": 0, "installed": 1},
    })
}

/// A learned route (`/api/v1/routes`).
pub fn router_route(prefix: &str, next_hops: &[&str], installed: bool) -> Value {
    json!({
        "prefix": prefix, "nextHops": next_hops, "accepted": true, "rejectReason": null,
        "installed": installed,
        "installedNextHops": if installed { next_hops.to_vec() } else { vec![] },
        "unusableNextHops": if installed { json!([]) } else {
            json!(next_hops.iter().map(|h| json!({"address": h, "reason": "via-gateway"})).collect::<Vec<_>>())
        },
        "nexthopGroup": if installed { json!(12) } else { Value::Null },
    })
}

/// A kernel route (`/api/v1/fib`).
pub fn fib_route(prefix: &str, gateways: &[&str]) -> Value {
    json!({
        "prefix": prefix, "metric": 20, "nhid": 12,
        "nextHops": gateways.iter().map(|g| json!({"gateway": g, "ifindex": 3, "dev": "veth-r1"})).collect::<Vec<_>>(),
    })
}

impl RouterState {
    pub fn new(peers: Vec<Value>, routes: Vec<Value>, fib: Vec<Value>) -> RouterState {
        RouterState {
            peers: json!({"peers": peers}),
            routes: json!({"routes": routes}),
            fib: json!({"protocol": 196, "mode": "nexthop-groups", "routes": fib, "nexthops": []}),
            token: None,
        }
    }
}

fn authorized(state: &RouterState, headers: &HeaderMap) -> bool {
    match &state.token {
        None => true,
        Some(t) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {t}")),
    }
}

/// Serves `state` as a router's admin API on loopback; returns its URL.
pub async fn start_router(state: RouterState) -> String {
    let reply = |pick: fn(&RouterState) -> Value| {
        move |axum::extract::State(s): axum::extract::State<RouterState>, headers: HeaderMap| async move {
            if authorized(&s, &headers) {
                (StatusCode::OK, Json(pick(&s)))
            } else {
                (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"error": "a valid bearer token is required"})),
                )
            }
        }
    };
    let app = Router::new()
        .route("/api/v1/peers", get(reply(|s| s.peers.clone())))
        .route("/api/v1/routes", get(reply(|s| s.routes.clone())))
        .route("/api/v1/fib", get(reply(|s| s.fib.clone())))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
