//! `lbctl services`, `peers` and `routes`, and the command line itself
//! (completions, exit codes, colors, the kubectl plugin name).

mod common;

use common::{fib_route, router_peer, router_route, start_router, Cluster, RouterState};
use serde_json::json;

async fn cluster() -> Cluster {
    let c = Cluster::start().await;
    c.pool("public", json!({"addresses": ["192.0.2.0/28"]}));
    c.lb_service(
        "web/front",
        Some("public"),
        &["192.0.2.1"],
        json!({"externalTrafficPolicy": "Local"}),
    );
    c.lb_service("web/pending", None, &[], json!({}));
    c.lb_service(
        "default/dns",
        Some("public"),
        &["192.0.2.2"],
        json!({"ports": [{"port": 53, "protocol": "UDP"}]}),
    );
    c.seed(
        ferrolb_fake_apiserver::ResourceRef::core("services"),
        json!({"metadata": {"name": "internal", "namespace": "web"}, "spec": {"ports": [{"port": 80}]}}),
    );
    c.announcement("node-a", "web/front", "bgp", &["192.0.2.1"]);
    c.announcement("node-b", "web/front", "bgp", &["192.0.2.1"]);
    c.announcement("node-a", "default/dns", "l2", &["192.0.2.2"]);
    c.session("node-a", "r1", "10.0.0.1", "Established");
    c.session("node-b", "r1", "10.0.0.1", "Active");
    c
}

fn router() -> RouterState {
    RouterState::new(
        vec![
            router_peer("10.0.0.11", true),
            router_peer("10.0.0.12", false),
        ],
        vec![router_route(
            "192.0.2.1/32",
            &["10.0.0.11", "10.0.0.12"],
            true,
        )],
        vec![fib_route("192.0.2.1/32", &["10.0.0.11"])],
    )
}

/// The cluster and a router `r1` serving [`router`]: `--router` flag value.
async fn cluster_and_router() -> (Cluster, String) {
    let url = start_router(router()).await;
    (cluster().await, format!("r1={url}"))
}

#[tokio::test]
async fn services_lists_load_balancers() {
    let (c, flag) = cluster_and_router().await;
    let out = c
        .lbctl(&["services", "-A", "--router", &flag])
        .await
        .expect_code(0);
    assert_eq!(
        out.stdout,
        "NAMESPACE   NAME      IPS         POOL     NODES           PROTOCOL   ROUTERS\n\
         default     dns       192.0.2.2   public   node-a          l2         -\n\
         web         front     192.0.2.1   public   node-a,node-b   bgp        1/1\n\
         web         pending   <pending>   -        -               -          -\n"
    );
    let out = c
        .lbctl(&["services", "-n", "web", "-o", "wide"])
        .await
        .expect_code(0);
    assert_eq!(
        out.stdout,
        "NAMESPACE   NAME      IPS         POOL     NODES           PROTOCOL   ROUTERS   CLASS   PORTS    TRAFFIC-POLICY\n\
         web         front     192.0.2.1   public   node-a,node-b   bgp        -         -       80/TCP   Local\n\
         web         pending   <pending>   -        -               -          -         -       80/TCP   Cluster\n"
    );
    // The kubeconfig context's namespace (the fake's is `default`).
    let out = c.lbctl(&["services", "-o", "json"]).await.expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["name"], "dns");
    assert_eq!(v[0]["protocols"], json!(["l2"]));

    c.lbctl(&["pools", "list"])
        .await
        .expect_code(0)
        .stdout_has("NAME     ADDRESSES");
    let out = c.lbctl(&["services", "-n", "empty"]).await.expect_code(0);
    assert_eq!(out.stdout, "No LoadBalancer Services in namespace empty.\n");
}

#[tokio::test]
async fn peers_shows_both_sides_and_fails_when_one_is_down() {
    let (c, flag) = cluster_and_router().await;
    let out = c
        .lbctl(&["peers", "--router", &flag, "-o", "wide"])
        .await
        .expect_code(1);
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| {
            l.split("   ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        rows[0],
        [
            "SIDE",
            "LOCAL",
            "PEER",
            "ADDRESS",
            "STATE",
            "UPTIME",
            "PREFIXES",
            "LAST-ERROR"
        ]
    );
    assert_eq!(
        rows[1][..5],
        ["speaker", "node-a", "r1", "10.0.0.1", "Established"]
    );
    assert_eq!(
        rows[2][..6],
        ["speaker", "node-b", "r1", "10.0.0.1", "Active", "-"]
    );
    assert_eq!(
        rows[3],
        [
            "router",
            "r1",
            "AS64512",
            "10.0.0.11",
            "Established",
            "5m",
            "1 accepted, 0 rejected, 1 installed",
            "-"
        ]
    );
    assert_eq!(
        rows[4],
        [
            "router",
            "r1",
            "AS64512",
            "10.0.0.12",
            "Active",
            "-",
            "1 accepted, 0 rejected, 1 installed",
            "connection refused"
        ]
    );

    // An unreachable router is a row, not a crash.
    c.lbctl(&["peers", "--router", "r9=http://127.0.0.1:9"])
        .await
        .expect_code(1)
        .stdout_has("router    r9       -      -          unreachable");
}

#[tokio::test]
async fn peers_reads_routers_from_the_config_file_with_a_token() {
    let c = cluster().await;
    c.seed(
        ferrolb_fake_apiserver::ResourceRef::new("ferrolb.io", "v1alpha1", "bgpsessionstates"),
        json!({
        "apiVersion": "ferrolb.io/v1alpha1", "kind": "BGPSessionState",
        "metadata": {"name": "node-b-r1", "namespace": "ferrolb-system"},
        "spec": {"node": "node-b", "peer": "r1", "peerAddress": "10.0.0.1"},
        "status": {"state": "Established"}}),
    );
    let mut state = RouterState::new(vec![router_peer("10.0.0.11", true)], vec![], vec![]);
    state.token = Some("s3cret".into());
    let url = start_router(state).await;
    let config_dir = c.dir.join(".config/lbctl");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(c.dir.join("token"), "s3cret\n").unwrap();
    std::fs::write(
        config_dir.join("config.yaml"),
        format!(
            "routers:\n- name: edge\n  url: {url}\n  tokenFile: {}\n",
            c.dir.join("token").display()
        ),
    )
    .unwrap();
    c.lbctl(&["peers"])
        .await
        .expect_code(0)
        .stdout_has("router    edge     AS64512   10.0.0.11   Established");

    // Without the token the router refuses, and the row says how to fix it.
    c.lbctl(&["peers", "--router", &url, "-o", "wide"])
        .await
        .expect_code(1)
        .stdout_has("requires a bearer token: pass --router-token-file");
}

#[tokio::test]
async fn routes_from_a_router() {
    let mut state = router();
    state.routes = json!({"routes": [
        router_route("192.0.2.1/32", &["10.0.0.11", "10.0.0.12"], true),
        router_route("192.0.2.2/32", &["10.9.9.9"], false),
    ]});
    let url = start_router(state).await;
    let flag = format!("r1={url}");
    let out = common::lbctl_offline(&["routes", "--router", &flag], None)
        .await
        .expect_code(0);
    assert_eq!(
        out.stdout,
        "ROUTER   PREFIX         NEXT-HOPS             ACCEPTED   INSTALLED\n\
         r1       192.0.2.1/32   10.0.0.11,10.0.0.12   yes        yes\n\
         r1       192.0.2.2/32   10.9.9.9              yes        no\n"
    );
    let out = common::lbctl_offline(&["routes", "--router", &flag, "-o", "json"], None)
        .await
        .expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v[0]["routes"][0]["installedNextHops"],
        json!(["10.0.0.11", "10.0.0.12"])
    );
    // (arguments, exit code, what stdout or stderr says)
    let table: &[(&[&str], i32, Said)] = &[
        (
            &["routes", "--router", &flag, "-o", "wide"],
            0,
            Said::Out("10.9.9.9 (via-gateway)"),
        ),
        (&["routes"], 1, Said::Err("no router given: pass --router")),
        (
            &["routes", "--router", "127.0.0.1:9180"],
            1,
            Said::Err("must start with http://"),
        ),
    ];
    for &(args, code, said) in table {
        said.check(common::lbctl_offline(args, None).await.expect_code(code));
    }
}

/// Where a run says what a test expects.
#[derive(Clone, Copy)]
enum Said {
    Out(&'static str),
    Err(&'static str),
}

impl Said {
    #[track_caller]
    fn check(self, run: common::Run) {
        match self {
            Said::Out(s) => run.stdout_has(s),
            Said::Err(s) => run.stderr_has(s),
        };
    }
}

#[tokio::test]
async fn completions_exit_codes_and_plugin_name() {
    for (shell, marker) in [
        ("bash", "_lbctl()"),
        ("zsh", "#compdef lbctl"),
        ("fish", "complete -c lbctl"),
    ] {
        let out = common::lbctl_offline(&["completion", shell], None)
            .await
            .expect_code(0);
        assert!(
            out.stdout.contains(marker),
            "{shell}: {}",
            &out.stdout[..200.min(out.stdout.len())]
        );
        assert!(out.stdout.contains("remove-range"), "{shell}");
    }
    // Usage errors exit 2.
    let usage: &[(&[&str], Said)] = &[
        (
            &["pools", "frobnicate"],
            Said::Err("unrecognized subcommand"),
        ),
        (
            &["services", "-A", "-n", "x"],
            Said::Err("cannot be used with"),
        ),
        (&["-o", "xml", "services"], Said::Err("invalid value 'xml'")),
    ];
    for &(args, said) in usage {
        said.check(common::lbctl_offline(args, None).await.expect_code(2));
    }

    // Installed as kubectl-lb, help and usage speak of `kubectl lb`.
    let dir = common::scratch_dir();
    let plugin = dir.join("kubectl-lb");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_lbctl"), &plugin).unwrap();
    for (args, says) in [
        (&["--help"][..], "Usage: kubectl lb [OPTIONS] <COMMAND>"),
        (
            &["completion", "bash"],
            "complete -F _kubectl__lb -o nosort -o bashdefault -o default kubectl-lb",
        ),
    ] {
        common::run_program(&plugin, &dir, args, None)
            .await
            .expect_code(0)
            .stdout_has(says);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn colors_only_when_asked() {
    let c = cluster().await;
    let plain = c.lbctl(&["services", "-A"]).await.expect_code(0);
    assert!(!plain.stdout.contains('\x1b'));
    let colored = c
        .lbctl(&["services", "-A", "--color", "always"])
        .await
        .expect_code(0);
    colored.stdout_has("\x1b[33m<pending>\x1b[0m");
    let off = c
        .lbctl(&["services", "-A", "--color", "always", "--no-color"])
        .await
        .expect_code(0);
    assert_eq!(off.stdout, plain.stdout);
}

#[tokio::test]
async fn errors_name_the_fix() {
    common::lbctl_offline(
        &["pools", "list", "--kubeconfig", "/nonexistent/kubeconfig"],
        None,
    )
    .await
    .expect_code(1)
    .stderr_has("cannot read kubeconfig /nonexistent/kubeconfig: check --kubeconfig");
    // A cluster without FerroLB's CRDs.
    let server = ferrolb_fake_apiserver::FakeApiServer::start()
        .await
        .unwrap();
    let dir = common::scratch_dir();
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    common::lbctl_in(&dir, &["pools", "list"])
        .await
        .expect_code(1)
        .stderr_has("the API server does not know IPAddressPool; is FerroLB installed?");
    // No API server at the kubeconfig's address.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = std::fs::read_to_string(&kubeconfig)
        .unwrap()
        .replace(&server.url(), &format!("http://127.0.0.1:{port}"));
    std::fs::write(&kubeconfig, config).unwrap();
    common::lbctl_in(&dir, &["pools", "list"])
        .await
        .expect_code(1)
        .stderr_has("cannot reach the API server; check the kubeconfig");
    let _ = std::fs::remove_dir_all(&dir);
}
