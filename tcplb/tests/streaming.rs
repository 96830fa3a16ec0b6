//! Long-lived connections across a reload, and bulk data with half-close.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// 100 connections stream data while a reload removes a backend and adds one: none breaks,
/// and new connections go to the new set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_100_streaming_connections() {
    let pki = Pki::new();
    let b0 = Server::start(&pki, "b0", "127.0.0.8").await;
    let b1 = Server::start(&pki, "b1", "127.0.0.9").await;
    let b2 = Server::start(&pki, "b2", "127.0.0.10").await;
    let b3 = Server::start(&pki, "b3", "127.0.0.11").await;
    let fe = free_port("127.0.0.1");
    let fe2 = free_port("127.0.0.1");
    let yaml = |servers: &[&Server], listen: &str| {
        format!(
            "frontends: [{{name: api, listen: [{listen}], backends: {}}}]",
            backends_yaml(servers)
        )
    };
    let lb = load_balancer(&yaml(&[&b0, &b1, &b2], &format!("'{fe}'")));
    let stop = Arc::new(AtomicBool::new(false));
    let reloaded = Arc::new(AtomicBool::new(false));
    let continued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut streams = Vec::new();
    for i in 0..100u32 {
        let (stop, reloaded, continued) = (stop.clone(), reloaded.clone(), continued.clone());
        streams.push(tokio::spawn(async move {
            let (name, mut conn) = hello(fe, None).await.expect("connect");
            let (mut rounds, mut after_reload) = (0u32, 0u32);
            let chunk: Vec<u8> = (0..1024u32).map(|k| (k ^ i) as u8).collect();
            let mut back = vec![0u8; chunk.len()];
            while !stop.load(Ordering::Relaxed) {
                conn.get_mut()
                    .write_all(&chunk)
                    .await
                    .expect("stream write");
                conn.read_exact(&mut back).await.expect("stream read");
                assert_eq!(back, chunk);
                rounds += 1;
                after_reload += u32::from(reloaded.load(Ordering::Relaxed));
                if after_reload == 2 {
                    continued.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            conn.get_mut().shutdown().await.unwrap();
            let mut end = String::new();
            conn.read_line(&mut end).await.unwrap();
            assert_eq!(end.trim(), format!("END {}", 5 + rounds as usize * 1024));
            (name, after_reload)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // b0 removed, b3 added, and a second listen address.
    lb.apply(&config(&yaml(
        &[&b1, &b2, &b3],
        &format!("'{fe}', '{fe2}'"),
    )))
    .unwrap();
    reloaded.store(true, Ordering::Relaxed);
    let start = Instant::now();
    let mut after = Vec::new();
    // New connections for a while, until every stream has moved data since the reload, and
    // until the added b3 has passed its first health check and been picked (on a busy
    // machine that can take longer than the first 700 ms).
    while start.elapsed() < Duration::from_millis(700)
        || (continued.load(Ordering::Relaxed) < 100 || !after.iter().any(|n| n == "b3"))
            && start.elapsed() < TIMEOUT
    {
        after.push(which(fe, None).await.unwrap());
        after.push(which(fe2, None).await.unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let mut on_b0 = 0;
    for s in streams {
        let (name, after_reload) = s.await.expect("stream survived the reload");
        assert!(
            after_reload >= 2,
            "kept streaming: {after_reload} rounds after the reload"
        );
        on_b0 += usize::from(name == "b0");
    }
    assert!(on_b0 > 20, "b0 had streams to keep: {on_b0}");
    assert!(
        !after.iter().any(|n| n == "b0"),
        "no new connection to the removed b0"
    );
    assert!(
        after.iter().any(|n| n == "b3"),
        "the added b3 takes connections"
    );
    // Removing the frontend closes its listeners only.
    lb.apply(&config("frontends: []")).unwrap();
    assert!(which(fe, None).await.is_err());
}

/// A stream of `len` bytes in both directions through the proxy, checked byte for byte by a
/// position-dependent checksum; the client half-closes and the echo continues past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_both_directions_with_half_close() {
    const LEN: u64 = 256 << 20;
    let pki = Pki::new();
    let b0 = Server::start(&pki, "b0", "127.0.0.12").await;
    let fe = free_port("127.0.0.1");
    let _lb = load_balancer(&format!(
        "frontends: [{{name: api, listen: ['{fe}'], backends: {}}}]",
        backends_yaml(&[&b0])
    ));
    let conn = connect(fe, None).await.unwrap();
    let (mut r, mut w) = conn.into_split();
    let writer = tokio::spawn(async move {
        let mut sum = Checksum::default();
        let mut block = vec![0u8; 1 << 20];
        let mut sent = 0u64;
        while sent < LEN {
            fill(&mut block, sent);
            w.write_all(&block).await.unwrap();
            sum.update(&block);
            sent += block.len() as u64;
        }
        // Half-close: the echo of everything must still come back.
        w.shutdown().await.unwrap();
        (sum.value(), w)
    });
    let mut name = Vec::new();
    let mut byte = [0u8; 1];
    while byte != *b"\n" {
        r.read_exact(&mut byte).await.unwrap();
        name.push(byte[0]);
    }
    let mut sum = Checksum::default();
    let mut received = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    while received < LEN {
        let want = buf.len().min((LEN - received) as usize);
        let n = r.read(&mut buf[..want]).await.unwrap();
        assert!(n > 0, "stream ended at {received}");
        sum.update(&buf[..n]);
        received += n as u64;
    }
    let mut tail = String::new();
    r.read_to_string(&mut tail).await.unwrap();
    let (sent_sum, _w) = writer.await.unwrap();
    assert_eq!(
        tail,
        format!("END {LEN}\n"),
        "the backend saw our end and answered after it"
    );
    assert_eq!(sum.value(), sent_sum, "byte-identical");
}

/// Deterministic, position-dependent content.
fn fill(block: &mut [u8], offset: u64) {
    let mut x = offset.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for chunk in block.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes());
    }
}

/// Fletcher-style checksum over bytes: a moved, lost or changed byte changes it.
#[derive(Default)]
struct Checksum {
    a: u64,
    b: u64,
}

impl Checksum {
    fn update(&mut self, data: &[u8]) {
        for &byte in data {
            self.a = (self.a + u64::from(byte)) % 0xffff_fffb;
            self.b = (self.b + self.a) % 0xffff_fffb;
        }
    }

    fn value(&self) -> u64 {
        (self.b << 32) | self.a
    }
}
