//! The example session in lbctl/README.md is real output: this test builds
//! the scene, runs the commands and compares. Run with
//! `LBCTL_UPDATE_README=1` to rewrite the README's session block.

mod common;

use common::{fib_route, router_peer, router_route, start_router, Cluster, RouterState};
use serde_json::json;

const BEGIN: &str = "<!-- session:begin -->\n";
const END: &str = "<!-- session:end -->\n";

async fn scene() -> (Cluster, String) {
    let c = Cluster::start().await;
    c.pool(
        "public",
        json!({"addresses": ["192.0.2.1-192.0.2.2", "2001:db8:100::/124"]}),
    );
    c.pool(
        "office",
        json!({"addresses": ["192.168.1.240-192.168.1.250"], "autoAssign": false}),
    );
    c.ferrolb(
        "bgpadvertisements",
        "BGPAdvertisement",
        "public",
        json!({"spec": {"ipAddressPools": ["public"]}}),
    );
    c.ferrolb(
        "l2advertisements",
        "L2Advertisement",
        "office",
        json!({"spec": {"ipAddressPools": ["office"]}}),
    );
    c.ferrolb(
        "bgppeers",
        "BGPPeer",
        "r1",
        json!({"spec": {"myASN": 64512, "peerASN": 64513, "peerAddress": "10.0.0.1"}}),
    );
    for (node, address) in [("node-a", "10.0.0.11"), ("node-b", "10.0.0.12")] {
        c.node_at(node, address);
        c.session(node, "r1", "10.0.0.1", "Established");
    }
    c.lb_service("web/front", Some("public"), &["192.0.2.1"], json!({}));
    c.endpoints(
        "web/front",
        &[
            ("10.244.0.5", "node-a", true),
            ("10.244.1.7", "node-b", true),
        ],
    );
    c.announcement("node-a", "web/front", "bgp", &["192.0.2.1"]);
    c.announcement("node-b", "web/front", "bgp", &["192.0.2.1"]);
    c.lb_service("web/blog", Some("public"), &["192.0.2.2"], json!({}));
    c.announcement("node-a", "web/blog", "bgp", &["192.0.2.2"]);
    c.announcement("node-b", "web/blog", "bgp", &["192.0.2.2"]);
    c.lb_service("web/printer", Some("office"), &["192.168.1.240"], json!({}));
    c.announcement("node-b", "web/printer", "l2", &["192.168.1.240"]);
    c.lb_service("web/shop", None, &[], json!({}));
    c.endpoints("web/shop", &[("10.244.0.9", "node-a", true)]);
    c.service_event(
        "web/shop",
        "Warning",
        "AllocationFailed",
        "pool public has no free IPv4 address",
        "2026-11-22T06:00:00Z",
    );
    let router = RouterState::new(
        vec![
            router_peer("10.0.0.11", true),
            router_peer("10.0.0.12", true),
        ],
        vec![
            router_route("192.0.2.1/32", &["10.0.0.11", "10.0.0.12"], true),
            router_route("192.0.2.2/32", &["10.0.0.11", "10.0.0.12"], true),
        ],
        vec![fib_route("192.0.2.1/32", &["10.0.0.11", "10.0.0.12"])],
    );
    let url = start_router(router).await;
    (c, format!("r1={url}"))
}

#[tokio::test]
async fn readme_session_is_current() {
    let (c, router) = scene().await;
    let commands: [(&str, Vec<&str>); 4] = [
        ("lbctl pools list", vec!["pools", "list"]),
        (
            "lbctl services -A",
            vec!["services", "-A", "--router", &router],
        ),
        (
            "lbctl explain web/front",
            vec!["explain", "web/front", "--router", &router],
        ),
        (
            "lbctl explain web/shop",
            vec!["explain", "web/shop", "--router", &router],
        ),
    ];
    let mut session = String::from("```console\n");
    for (shown, args) in &commands {
        let out = c.lbctl(args).await;
        session.push_str(&format!("$ {shown}\n{}", out.stdout));
        if out.code != 0 {
            session.push_str(&format!("$ echo $?\n{}\n", out.code));
        }
        session.push('\n');
    }
    session.pop();
    session.push_str("```\n");

    // The same session is shown in lbctl's README and in the project's.
    for path in [
        concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"),
    ] {
        let readme = std::fs::read_to_string(path).unwrap();
        let (before, rest) = readme
            .split_once(BEGIN)
            .unwrap_or_else(|| panic!("{path} lacks the session markers"));
        let (current, after) = rest
            .split_once(END)
            .unwrap_or_else(|| panic!("{path} lacks the session end marker"));
        if std::env::var_os("LBCTL_UPDATE_README").is_some() {
            std::fs::write(path, format!("{before}{BEGIN}{session}{END}{after}")).unwrap();
            continue;
        }
        assert_eq!(
            current, session,
            "{path}: the lbctl session is stale: rerun with LBCTL_UPDATE_README=1"
        );
    }
}
