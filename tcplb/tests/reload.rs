//! Reloads: metric series of removed frontends and backends go after their last connection,
//! `acceptWorkers` changes the listen sockets in place, and a partly failed apply is
//! completed or undone by the next one.

mod support;

use std::net::SocketAddr;

use ferrolb_tcplb::{LoadBalancer, Metrics};
use prometheus_client::registry::Registry;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The load balancer with its metrics in a registry of its own.
fn registered() -> (LoadBalancer, Registry) {
    let mut registry = Registry::with_prefix("ferrolb");
    let lb = LoadBalancer::new(Metrics::register(&mut registry));
    (lb, registry)
}

fn exposition(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
    text
}

/// Exposed series whose labels include `label` (such as `backend="127.0.0.1:80"`).
fn series<'a>(text: &'a str, label: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains(label))
        .collect()
}

fn backend_label(s: &Server) -> String {
    format!("backend=\"{}\"", s.address)
}

/// Sends and reads back a few bytes: the connection still works.
async fn still_echoes(conn: &mut BufReader<TcpStream>) {
    conn.get_mut().write_all(b"ping").await.unwrap();
    let mut back = [0u8; 4];
    tokio::time::timeout(TIMEOUT, conn.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&back, b"ping");
}

/// Connects until one lands on `name`.
async fn hello_to(fe: SocketAddr, name: &str) -> BufReader<TcpStream> {
    for _ in 0..20 {
        let (n, conn) = hello(fe, None).await.unwrap();
        if n == name {
            return conn;
        }
    }
    panic!("no connection landed on {name}");
}

fn frontend_yaml(name: &str, listen: &[SocketAddr], backends: &[&Server]) -> String {
    let listen: Vec<String> = listen.iter().map(|a| format!("'{a}'")).collect();
    format!(
        "{{name: {name}, listen: [{}], backends: {}}}",
        listen.join(", "),
        backends_yaml(backends)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_series_go_after_the_last_connection() {
    let pki = Pki::new();
    let b0 = Server::start(&pki, "b0", "127.0.0.1").await;
    let b1 = Server::start(&pki, "b1", "127.0.0.1").await;
    let b2 = Server::start(&pki, "b2", "127.0.0.1").await;
    let (api, web) = (free_port("127.0.0.1"), free_port("127.0.0.1"));
    let (lb, registry) = registered();
    let with = |api_backends: &[&Server], web_too: bool| {
        let mut frontends = vec![frontend_yaml("api", &[api], api_backends)];
        if web_too {
            frontends.push(frontend_yaml("web", &[web], &[&b2]));
        }
        config(&format!("frontends: [{}]", frontends.join(", ")))
    };
    lb.apply(&with(&[&b0, &b1, &b2], true)).unwrap();
    let mut to_b1 = hello_to(api, "b1").await;
    let (_, mut to_web) = hello(web, None).await.unwrap();
    let text = exposition(&registry);
    assert!(!series(&text, "frontend=\"web\"").is_empty(), "{text}");
    assert!(!series(&text, &backend_label(&b0)).is_empty(), "{text}");

    // api loses b1 (one connection open) and b2 (none there); web goes (one open).
    lb.apply(&with(&[&b0], false)).unwrap();
    let text = exposition(&registry);
    let api_b2 = format!("frontend=\"api\",{}", backend_label(&b2));
    assert!(
        series(&text, &api_b2).is_empty(),
        "idle b2 gone at once: {text}"
    );
    assert!(!series(&text, &backend_label(&b1)).is_empty(), "{text}");
    assert!(!series(&text, "frontend=\"web\"").is_empty(), "{text}");
    still_echoes(&mut to_b1).await;
    still_echoes(&mut to_web).await;

    drop(to_b1);
    let gone = |label: String| {
        let registry = &registry;
        move || series(&exposition(registry), &label).is_empty()
    };
    assert!(
        wait_until(TIMEOUT, gone(backend_label(&b1)))
            .await
            .is_some(),
        "b1 series stay after its last connection: {}",
        exposition(&registry)
    );
    assert!(!series(&exposition(&registry), "frontend=\"web\"").is_empty());
    drop(to_web);
    assert!(
        wait_until(TIMEOUT, gone("frontend=\"web\"".to_owned()))
            .await
            .is_some(),
        "web series stay after its last connection: {}",
        exposition(&registry)
    );
    // What still runs keeps its series.
    let text = exposition(&registry);
    assert!(!series(&text, "frontend=\"api\"").is_empty(), "{text}");
    assert!(!series(&text, &backend_label(&b0)).is_empty(), "{text}");

    // Removed with a connection open and added again: the old connection's end leaves the
    // series of the new backend of that address alone.
    let mut to_b1 = {
        lb.apply(&with(&[&b0, &b1], false)).unwrap();
        hello_to(api, "b1").await
    };
    lb.apply(&with(&[&b0], false)).unwrap();
    lb.apply(&with(&[&b0, &b1], false)).unwrap();
    still_echoes(&mut to_b1).await;
    drop(to_b1);
    let active_b1 = format!(
        "ferrolb_backend_connections_active{{frontend=\"api\",{}}} 0",
        backend_label(&b1)
    );
    assert!(
        wait_until(TIMEOUT, || exposition(&registry)
            .lines()
            .any(|l| l == active_b1))
        .await
        .is_some(),
        "the re-added b1 keeps its series with no connection: {}",
        exposition(&registry)
    );
}

/// Sockets listening on `address`, as the kernel lists them.
fn listen_sockets(address: SocketAddr) -> usize {
    let SocketAddr::V4(v4) = address else {
        panic!("IPv4 only")
    };
    let local = format!(
        "{:08X}:{:04X}",
        u32::from_ne_bytes(v4.ip().octets()),
        address.port()
    );
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            // local_address, then rem_address, then st (0A = LISTEN).
            fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&"0A")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_workers_change_in_place() {
    let pki = Pki::new();
    let b0 = Server::start(&pki, "b0", "127.0.0.1").await;
    // An address of its own, so no other test's socket can share the port.
    let fe = free_port("127.0.0.61");
    let workers = |n: u32| {
        config(&format!(
            "acceptWorkers: {n}\nfrontends: [{}]",
            frontend_yaml("api", &[fe], &[&b0])
        ))
    };
    let lb = LoadBalancer::new(Metrics::default());
    lb.apply(&workers(1)).unwrap();
    assert_eq!(listen_sockets(fe), 1);
    let (_, mut held) = hello(fe, None).await.unwrap();

    lb.apply(&workers(3)).unwrap();
    assert_eq!(listen_sockets(fe), 3, "sockets opened by the reload");
    still_echoes(&mut held).await;
    for _ in 0..30 {
        assert_eq!(which(fe, None).await.unwrap(), "b0");
    }

    lb.apply(&workers(1)).unwrap();
    assert!(
        wait_until(TIMEOUT, || listen_sockets(fe) == 1)
            .await
            .is_some(),
        "extra sockets closed: {} left",
        listen_sockets(fe)
    );
    still_echoes(&mut held).await;
    for _ in 0..30 {
        assert_eq!(which(fe, None).await.unwrap(), "b0");
    }
}

/// The backend addresses of frontend `name`, and its listen addresses.
fn running(lb: &LoadBalancer, name: &str) -> Option<(Vec<SocketAddr>, Vec<SocketAddr>)> {
    lb.status()
        .into_iter()
        .find(|f| f.name == name)
        .map(|mut f| {
            f.listen.sort();
            (f.backends.iter().map(|b| b.address).collect(), f.listen)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partly_failed_apply_is_completed_or_undone_by_the_next() {
    let pki = Pki::new();
    let b0 = Server::start(&pki, "b0", "127.0.0.1").await;
    let b1 = Server::start(&pki, "b1", "127.0.0.1").await;
    let fe1 = free_port("127.0.0.1");
    // Held without SO_REUSEPORT: the load balancer cannot listen there until it is closed.
    let blocker2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let blocker3 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (fe2, fe3) = (
        blocker2.local_addr().unwrap(),
        blocker3.local_addr().unwrap(),
    );
    let a = config(&format!(
        "frontends: [{}]",
        frontend_yaml("api", &[fe1], &[&b0])
    ));
    let b = config(&format!(
        "frontends: [{}]",
        frontend_yaml("api", &[fe1, fe2], &[&b1])
    ));
    let b_and_web = config(&format!(
        "frontends: [{}, {}]",
        frontend_yaml("api", &[fe1, fe2], &[&b1]),
        frontend_yaml("web", &[fe3], &[&b0])
    ));
    let lb = LoadBalancer::new(Metrics::default());
    lb.apply(&a).unwrap();

    // B swaps the backend, then cannot listen on fe2.
    assert!(lb.apply(&b).is_err());
    assert_eq!(running(&lb, "api"), Some((vec![b1.address], vec![fe1])));
    assert_eq!(which(fe1, None).await.unwrap(), "b1");
    // Back to A: the backend swap is undone too.
    lb.apply(&a).unwrap();
    assert_eq!(running(&lb, "api"), Some((vec![b0.address], vec![fe1])));
    assert_eq!(which(fe1, None).await.unwrap(), "b0");

    // B and a new frontend, both blocked; retried until the addresses are free.
    assert!(lb.apply(&b_and_web).is_err());
    assert!(lb.apply(&b_and_web).is_err());
    assert_eq!(running(&lb, "web"), None);
    drop(blocker2);
    drop(blocker3);
    lb.apply(&b_and_web).unwrap();
    let mut both = vec![fe1, fe2];
    both.sort();
    assert_eq!(running(&lb, "api"), Some((vec![b1.address], both)));
    assert_eq!(which(fe2, None).await.unwrap(), "b1");
    assert_eq!(which(fe3, None).await.unwrap(), "b0");
    // Nothing left to do.
    lb.apply(&b_and_web).unwrap();
}
