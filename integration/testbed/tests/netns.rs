//! Self-tests of namespaces and links against the real kernel.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

use common::{assert_cleaned_up, netns_names, pid_alive};
use ferrolb_testbed::prelude::*;

#[test]
fn veth_pair_carries_ipv4_and_ipv6_at_once() {
    let pair = Topology::pair().unwrap();
    // No settling time: links come up before addresses are added, so even IPv6 neighbour
    // discovery answers immediately.
    pair.a.ns.ping(IpAddr::V4(pair.b.v4)).unwrap();
    pair.a.ns.ping(IpAddr::V6(pair.b.v6)).unwrap();
    pair.b.ns.ping(IpAddr::V4(pair.a.v4)).unwrap();
    pair.b.ns.ping(IpAddr::V6(pair.a.v6)).unwrap();
    assert!(pair.a.iface.is_up().unwrap());
    assert!(pair.b.iface.is_up().unwrap());
}

#[test]
fn partition_stops_traffic_and_heal_restores_it() {
    let pair = Topology::pair().unwrap();
    let b = IpAddr::V4(pair.b.v4);
    pair.a.ns.ping(b).unwrap();
    pair.partition().unwrap();
    assert!(!pair.a.iface.is_up().unwrap());
    assert!(pair.a.ns.ping(b).is_err());
    pair.heal().unwrap();
    pair.a.ns.wait_reachable(b, common::T).unwrap();
    pair.a
        .ns
        .wait_reachable(IpAddr::V6(pair.b.v6), common::T)
        .unwrap();
}

#[test]
fn bridge_joins_several_namespaces_on_one_segment() {
    let lan = Topology::lan(3).unwrap();
    lan.wait_connected(common::T).unwrap();
    let (n2, n3) = (&lan.nodes[1], &lan.nodes[2]);
    n2.ns.ping(IpAddr::V4(n3.v4)).unwrap();
    n3.ns.ping(IpAddr::V6(n2.v6)).unwrap();
    // Unplugging one node leaves the others connected.
    lan.nodes[0].iface.set_down().unwrap();
    assert!(n2.ns.ping(IpAddr::V4(lan.nodes[0].v4)).is_err());
    n2.ns.ping(IpAddr::V4(n3.v4)).unwrap();
}

#[test]
fn sysctls_and_loopback_addresses_apply_to_the_namespace() {
    let ns = Netns::new("sysctl").unwrap();
    assert_eq!(ns.read_sysctl("net.ipv4.ip_forward").unwrap(), "0");
    ns.enable_forwarding().unwrap();
    ns.set_multipath_hash_policy(1).unwrap();
    assert_eq!(ns.read_sysctl("net.ipv4.ip_forward").unwrap(), "1");
    assert_eq!(ns.read_sysctl("net.ipv6.conf.all.forwarding").unwrap(), "1");
    // Cross-check with a separate process entering the namespace.
    let out = ns
        .exec("cat", &["/proc/sys/net/ipv4/fib_multipath_hash_policy"])
        .unwrap();
    assert_eq!(out.trim(), "1");
    assert_eq!(
        ns.read_sysctl("net.ipv6.fib_multipath_hash_policy")
            .unwrap(),
        "1"
    );

    ns.add_loopback_addr("203.0.113.10/32".parse().unwrap())
        .unwrap();
    ns.add_loopback_addr("2001:db8:ff::10/128".parse().unwrap())
        .unwrap();
    let addrs = ns.ip(&["-o", "addr", "show", "dev", "lo"]).unwrap();
    assert!(addrs.contains("203.0.113.10/32"), "{addrs}");
    assert!(addrs.contains("2001:db8:ff::10/128"), "{addrs}");
    ns.ping("203.0.113.10".parse().unwrap()).unwrap();
    ns.ping("2001:db8:ff::10".parse().unwrap()).unwrap();
}

#[test]
fn threads_in_a_namespace_own_their_sockets() {
    let pair = Topology::pair().unwrap();
    let server_addr = SocketAddr::new(IpAddr::V4(pair.b.v4), 7000);

    // The host namespace does not have 198.18.0.2, so binding there fails...
    assert!(std::net::TcpListener::bind(server_addr).is_err());

    // ...but a tokio runtime on a thread inside `b` can listen on it.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let server = pair
        .b
        .ns
        .spawn_thread_in(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let listener = tokio::net::TcpListener::bind(server_addr).await.unwrap();
                ready_tx.send(()).unwrap();
                let (mut conn, peer) = listener.accept().await.unwrap();
                let mut buf = [0u8; 5];
                conn.read_exact(&mut buf).await.unwrap();
                conn.write_all(&buf).await.unwrap();
                peer
            })
        })
        .unwrap();
    ready_rx.recv_timeout(common::T).unwrap();

    // A borrowed closure in `a` connects across the veth.
    let greeting = b"hello";
    let echoed = pair
        .a
        .ns
        .run_in(|| {
            let mut conn = TcpStream::connect_timeout(&server_addr, Duration::from_secs(5))?;
            conn.write_all(greeting)?;
            let mut buf = [0u8; 5];
            conn.read_exact(&mut buf)?;
            Ok::<_, std::io::Error>(buf)
        })
        .unwrap()
        .unwrap();
    assert_eq!(&echoed, greeting);
    let peer = server.join().unwrap();
    assert_eq!(peer.ip(), IpAddr::V4(pair.a.v4));
}

#[test]
fn a_runtime_in_a_namespace_serves_until_dropped_then_stops() {
    let pair = Topology::pair().unwrap();
    let server_addr = SocketAddr::new(IpAddr::V4(pair.b.v4), 7001);
    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stopped.clone();
    // An echo server spawned on the runtime; its address is the test's handle.
    let server = NsRuntime::start(
        &pair.b.ns,
        common::T,
        move || async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::bind(server_addr).await.unwrap();
            let local = listener.local_addr().unwrap();
            let task = tokio::spawn(async move {
                while let Ok((mut conn, _)) = listener.accept().await {
                    let mut buf = [0u8; 4];
                    if conn.read_exact(&mut buf).await.is_ok() {
                        let _ = conn.write_all(&buf).await;
                    }
                }
            });
            (task, local)
        },
        move |task| async move {
            task.abort();
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        },
    )
    .unwrap();
    assert_eq!(*server.handle(), server_addr);
    let echo = || {
        pair.a.ns.run_in(|| {
            let mut conn = TcpStream::connect_timeout(&server_addr, Duration::from_secs(2))?;
            conn.write_all(b"ping")?;
            let mut buf = [0u8; 4];
            conn.read_exact(&mut buf)?;
            Ok::<_, std::io::Error>(buf)
        })
    };
    // Served from inside `b` while the test's thread was free.
    assert_eq!(&echo().unwrap().unwrap(), b"ping");
    assert!(!stopped.load(std::sync::atomic::Ordering::SeqCst));
    drop(server);
    assert!(stopped.load(std::sync::atomic::Ordering::SeqCst));
    assert!(echo().unwrap().is_err());
}

#[test]
fn a_runtime_whose_start_panics_is_an_error_naming_the_panic() {
    let ns = Netns::new("rtpanic").unwrap();
    let result = NsRuntime::<()>::start(
        &ns,
        common::T,
        || async {
            if std::hint::black_box(true) {
                panic!("no such interface");
            }
            ((), ())
        },
        |()| async {},
    );
    let message = result.unwrap_err().to_string();
    assert!(message.contains("no such interface"), "{message}");
}

#[test]
fn panics_in_run_in_propagate() {
    let ns = Netns::new("panic").unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ns.run_in(|| panic!("inside the namespace")).unwrap();
    }));
    assert!(result.is_err());
}

#[test]
fn dropping_a_namespace_kills_its_processes_and_deletes_it() {
    let ns = Netns::new("drop").unwrap();
    let name = ns.name().to_owned();
    assert!(name.starts_with("flb-"));
    assert!(netns_names().contains(&name));
    let log = tempfile::NamedTempFile::new().unwrap();
    let tracked = ns.spawn("sleeper", "sleep", &["1000"], log.path()).unwrap();
    // A daemon-like grandchild that nobody tracks.
    let orphan: u32 = ns
        .exec("sh", &["-c", "sleep 1000 >/dev/null 2>&1 & echo $!"])
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(pid_alive(orphan));
    assert_eq!(ns.pids().unwrap().len(), 2);

    drop(ns);
    assert!(!tracked.is_running());
    assert_cleaned_up(&[name], &[tracked.pid(), orphan]);
}

#[test]
fn namespaces_are_deleted_when_a_test_panics() {
    let name = Mutex::new(String::new());
    let result = std::panic::catch_unwind(|| {
        let pair = Topology::pair().unwrap();
        *name.lock().unwrap() = pair.a.ns.name().to_owned();
        panic!("simulated test failure");
    });
    assert!(result.is_err());
    let name = name.into_inner().unwrap();
    assert!(!name.is_empty());
    assert_cleaned_up(&[name], &[]);
}

#[test]
fn interface_names_longer_than_the_kernel_allows_are_refused() {
    let a = Netns::new("x").unwrap();
    let b = Netns::new("y").unwrap();
    let err = VethPair::create(&a, "a-very-long-name", &b, "eth0").unwrap_err();
    assert!(matches!(err, ferrolb_testbed::Error::Config(_)), "{err}");
}
