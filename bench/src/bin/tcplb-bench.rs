//! `tcplb-bench`: FerroLB's TCP load balancer side by side with HAProxy (with and without
//! `option splice-auto`) and a direct connection, on loopback: bulk throughput, new
//! connections per second with latency, many concurrent connections (requests/s, p99, proxy
//! peak RSS), and time to stop sending to a killed backend. `--quick` runs smaller sizes;
//! `--memory` only the many-connections part.
//!
//! Every party runs as its own process (this binary re-executes itself as the backends and
//! as the FerroLB proxy), so each stays under the per-process open-files limit.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BACKENDS: u16 = 3;
/// HAProxy's `maxpipes` for `option splice-auto`.
const MAX_PIPES: u64 = 200;

#[derive(Clone, Copy)]
struct Sizes {
    streams: usize,
    stream_bytes: u64,
    rate_secs: u64,
    concurrent: usize,
    concurrent_secs: u64,
    /// Only the many-connections part (requests/s, p99, peak RSS): `--memory`.
    memory_only: bool,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve") => serve(args.get(2).context("serve ADDR")?.parse()?),
        Some("ferrolb") => ferrolb(args.get(2).context("ferrolb YAML")?),
        _ => {
            let quick = args.iter().any(|a| a == "--quick");
            let sizes = if quick {
                Sizes {
                    streams: 4,
                    stream_bytes: 512 << 20,
                    rate_secs: 3,
                    concurrent: 2000,
                    concurrent_secs: 3,
                    memory_only: false,
                }
            } else {
                Sizes {
                    streams: 4,
                    stream_bytes: 2 << 30,
                    rate_secs: 10,
                    // As many as fit under a 20,000 open-files hard limit.
                    concurrent: 9_700,
                    concurrent_secs: 10,
                    memory_only: false,
                }
            };
            run(Sizes {
                memory_only: args.iter().any(|a| a == "--memory"),
                ..sizes
            })
        }
    }
}

/// Backend: names itself with one byte (its port's last digit) on the first bytes, then
/// echoes; a stream starting with `B` is bulk: discarded, its byte count sent back at EOF.
fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        let id = (addr.port() % 10) as u8;
        loop {
            let (mut s, _) = listener.accept().await?;
            tokio::spawn(async move {
                let _ = s.set_nodelay(true);
                let mut buf = vec![0u8; 64 * 1024];
                let Ok(n) = s.read(&mut buf).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                if buf[0] == b'B' {
                    let mut total = n as u64;
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        total += n as u64;
                    }
                    let _ = s.write_all(&total.to_le_bytes()).await;
                    return;
                }
                let _ = s.write_all(&[id]).await;
                let _ = s.write_all(&buf[..n]).await;
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
        #[allow(unreachable_code)]
        Ok::<_, anyhow::Error>(())
    })
}

/// The FerroLB proxy process.
fn ferrolb(yaml: &str) -> anyhow::Result<()> {
    // The router's runtime (one worker per CPU, two here).
    let rt = ferrolb_daemon::runtime::builder().build()?;
    rt.block_on(async {
        let config: ferrolb_api::router_config::LoadBalancerConfig = serde_yaml::from_str(yaml)?;
        let lb = ferrolb_tcplb::LoadBalancer::new(ferrolb_tcplb::Metrics::default());
        lb.apply(&config)?;
        std::future::pending::<()>().await;
        #[allow(unreachable_code)]
        Ok(())
    })
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The kinds of path under test.
#[derive(Clone, Copy, PartialEq)]
enum Path {
    Direct,
    Ferrolb,
    Haproxy { splice: bool },
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::Ferrolb => "ferrolb",
            Path::Haproxy { splice: false } => "haproxy",
            Path::Haproxy { splice: true } => "haproxy splice-auto",
        }
    }
}

fn start_proxy(
    path: Path,
    listen: SocketAddr,
    backends: &[SocketAddr],
    dir: &std::path::Path,
    sizes: Sizes,
) -> anyhow::Result<Option<Proc>> {
    let me = std::env::current_exe()?;
    let child = match path {
        Path::Direct => return Ok(None),
        Path::Ferrolb => {
            let list: Vec<String> = backends
                .iter()
                .map(|b| format!("{{address: '{b}'}}"))
                .collect();
            let yaml = format!(
                "acceptWorkers: 2\nfrontends: [{{name: bench, listen: ['{listen}'], backends: [{}], \
                 healthCheck: {{interval: 100ms, timeout: 100ms, rise: 2, fall: 3}}}}]",
                list.join(", ")
            );
            Command::new(me)
                .args(["ferrolb", &yaml])
                .stdout(Stdio::null())
                .spawn()?
        }
        Path::Haproxy { splice } => {
            let servers: Vec<String> = backends
                .iter()
                .enumerate()
                .map(|(i, b)| format!("  server s{i} {b} check inter 100 rise 2 fall 3\n"))
                .collect();
            let cfg = format!(
                "global\n  maxconn {}\n  maxpipes {MAX_PIPES}\n  nbthread 2\n\ndefaults\n  mode tcp\n  timeout connect 5s\n  \
                 timeout client 4h\n  timeout server 4h\n  retries 3\n  option redispatch\n{}\n\
                 frontend fe\n  bind {listen}\n  default_backend be\n\nbackend be\n  balance roundrobin\n{}",
                sizes.concurrent + 50,
                if splice { "  option splice-auto\n" } else { "" },
                servers.concat()
            );
            let file = dir.join(format!("haproxy-{}.cfg", listen.port()));
            std::fs::write(&file, cfg)?;
            Command::new("haproxy")
                .arg("-db")
                .arg("-f")
                .arg(&file)
                .stdout(Stdio::null())
                .spawn()?
        }
    };
    let proc = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(listen).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "{} did not start", path.name());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    Ok(Some(proc))
}

fn peak_rss_kib(proc: &Option<Proc>) -> Option<u64> {
    let pid = proc.as_ref()?.0.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[derive(Default, Clone)]
struct Row {
    gbits: f64,
    conns_per_sec: f64,
    conn_p50_us: f64,
    conn_p99_us: f64,
    reqs_per_sec: f64,
    req_p99_us: f64,
    rss_mib: f64,
    kill_ms: Option<f64>,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p) as usize] as f64
}

/// Raises this process's open-files limit to its hard limit, for it and the processes it
/// starts: a proxy holds two descriptors per concurrent connection.
fn raise_open_files() -> anyhow::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or write the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error()).context("reading RLIMIT_NOFILE");
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(std::io::Error::last_os_error()).context("raising RLIMIT_NOFILE");
        }
    }
    Ok(limit.rlim_cur)
}

fn run(sizes: Sizes) -> anyhow::Result<()> {
    let open_files = raise_open_files()?;
    // Two descriptors per connection, HAProxy's splice pipes and a margin.
    anyhow::ensure!(
        open_files >= 2 * sizes.concurrent as u64 + 2 * MAX_PIPES + 100,
        "{} concurrent connections need a higher open-files limit than {open_files}",
        sizes.concurrent
    );
    let dir = tempfile::tempdir()?;
    let me = std::env::current_exe()?;
    let mut servers = Vec::new();
    let mut backends = Vec::new();
    for _ in 0..BACKENDS {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        servers.push(Proc(
            Command::new(&me)
                .args(["serve", &addr.to_string()])
                .spawn()?,
        ));
        backends.push(addr);
    }
    std::thread::sleep(Duration::from_millis(300));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let paths = [
        Path::Direct,
        Path::Ferrolb,
        Path::Haproxy { splice: false },
        Path::Haproxy { splice: true },
    ];
    let mut rows = Vec::new();
    for path in paths {
        let listen: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let proxy = start_proxy(path, listen, &backends, dir.path(), sizes)?;
        let target = if path == Path::Direct {
            backends[0]
        } else {
            listen
        };
        let (gbits, (conns_per_sec, conn_p50_us, conn_p99_us)) = if sizes.memory_only {
            (0.0, (0.0, 0.0, 0.0))
        } else {
            (
                rt.block_on(throughput(target, sizes))?,
                rt.block_on(conn_rate(target, sizes.rate_secs))?,
            )
        };
        let (reqs_per_sec, req_p99_us) = rt.block_on(concurrent(target, sizes))?;
        let row = Row {
            gbits,
            conns_per_sec,
            conn_p50_us,
            conn_p99_us,
            reqs_per_sec,
            req_p99_us,
            rss_mib: peak_rss_kib(&proxy).map_or(0.0, |k| k as f64 / 1024.0),
            kill_ms: None,
        };
        eprintln!("{}: done", path.name());
        rows.push((path, row));
        drop(proxy);
    }
    // Kill time: a fresh set of backends per proxy, one killed under load.
    let killed = rows
        .iter_mut()
        .filter(|(p, _)| *p != Path::Direct && !sizes.memory_only);
    for (path, row) in killed {
        let mut victims = Vec::new();
        let mut addrs = Vec::new();
        for _ in 0..BACKENDS {
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
            victims.push(Proc(
                Command::new(&me)
                    .args(["serve", &addr.to_string()])
                    .spawn()?,
            ));
            addrs.push(addr);
        }
        std::thread::sleep(Duration::from_millis(300));
        let listen: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let _proxy = start_proxy(*path, listen, &addrs, dir.path(), sizes)?;
        let victim = victims.remove(2);
        row.kill_ms = Some(rt.block_on(kill_time(listen, victim))?);
    }
    drop(servers);
    print_table(&rows);
    Ok(())
}

/// Several streams of bulk data through `target`; Gbit/s over all.
async fn throughput(target: SocketAddr, sizes: Sizes) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..sizes.streams {
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(target).await?;
            let block = vec![b'B'; 256 * 1024];
            let mut sent = 0u64;
            while sent < sizes.stream_bytes {
                s.write_all(&block).await?;
                sent += block.len() as u64;
            }
            s.shutdown().await?;
            let mut count = [0u8; 8];
            s.read_exact(&mut count).await?;
            anyhow::ensure!(u64::from_le_bytes(count) == sent, "bytes lost");
            Ok::<_, anyhow::Error>(sent)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 * 8.0 / start.elapsed().as_secs_f64() / 1e9)
}

/// New connections (connect, one request/response, close) from 8 clients for `secs`.
async fn conn_rate(target: SocketAddr, secs: u64) -> anyhow::Result<(f64, f64, f64)> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let Ok(mut s) = TcpStream::connect(target).await else {
                    continue;
                };
                let _ = s.set_nodelay(true);
                if s.write_all(b"x").await.is_err() {
                    continue;
                }
                let mut b = [0u8; 2];
                if s.read_exact(&mut b).await.is_ok() {
                    lat.push(t.elapsed().as_micros() as u64);
                }
                // Close from the client side, as clients do.
                let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    all.sort_unstable();
    Ok((
        all.len() as f64 / secs as f64,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
    ))
}

/// `sizes.concurrent` open connections each doing request/response for a while.
async fn concurrent(target: SocketAddr, sizes: Sizes) -> anyhow::Result<(f64, f64)> {
    let mut conns = Vec::new();
    for _ in 0..sizes.concurrent {
        let mut s = TcpStream::connect(target).await?;
        s.set_nodelay(true)?;
        s.write_all(b"hello").await?;
        let mut b = [0u8; 6];
        s.read_exact(&mut b).await?;
        conns.push(s);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for mut s in conns {
        let (stop, count) = (stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let req = [7u8; 64];
            let mut resp = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if s.write_all(&req).await.is_err() || s.read_exact(&mut resp).await.is_err() {
                    break;
                }
                lat.push(t.elapsed().as_micros() as u64);
                count.fetch_add(1, Ordering::Relaxed);
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs(sizes.concurrent_secs)).await;
    stop.store(true, Ordering::Relaxed);
    let n = count.load(Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    all.sort_unstable();
    Ok((
        n as f64 / sizes.concurrent_secs as f64,
        percentile(&all, 0.99),
    ))
}

/// Short connections under load; the third backend is killed; returns the time from the
/// kill to the last client connection that was sent to it (and so failed).
async fn kill_time(target: SocketAddr, victim: Proc) -> anyhow::Result<f64> {
    let stop = Arc::new(AtomicBool::new(false));
    let last_failure = Arc::new(AtomicU64::new(0));
    let origin = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (stop, last_failure) = (stop.clone(), last_failure.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let t = origin.elapsed().as_micros() as u64;
                let ok = async {
                    let mut s = TcpStream::connect(target).await.ok()?;
                    s.write_all(b"x").await.ok()?;
                    let mut b = [0u8; 2];
                    tokio::time::timeout(Duration::from_secs(1), s.read_exact(&mut b))
                        .await
                        .ok()?
                        .ok()
                }
                .await;
                if ok.is_none() {
                    last_failure.fetch_max(t, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = origin.elapsed().as_micros() as u64;
    drop(victim);
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }
    let last = last_failure.load(Ordering::Relaxed);
    Ok(if last > killed {
        (last - killed) as f64 / 1000.0
    } else {
        0.0
    })
}

fn print_table(rows: &[(Path, Row)]) {
    let find = |p: Path| {
        rows.iter()
            .find(|(q, _)| *q == p)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    let fl = find(Path::Ferrolb);
    let ha = find(Path::Haproxy { splice: false });
    let hs = find(Path::Haproxy { splice: true });
    let direct = find(Path::Direct);
    type Metric = (&'static str, fn(&Row) -> f64);
    let metrics: [Metric; 8] = [
        ("bulk throughput (Gbit/s)", |r| r.gbits),
        ("new connections/s", |r| r.conns_per_sec),
        ("new connection p50 (µs)", |r| r.conn_p50_us),
        ("new connection p99 (µs)", |r| r.conn_p99_us),
        ("concurrent requests/s", |r| r.reqs_per_sec),
        ("concurrent request p99 (µs)", |r| r.req_p99_us),
        ("proxy peak RSS (MiB)", |r| r.rss_mib),
        ("killed backend: last failure after (ms)", |r| {
            r.kill_ms.unwrap_or(0.0)
        }),
    ];
    println!("| metric | direct | ferrolb | haproxy | haproxy splice-auto | ferrolb/haproxy | ferrolb/haproxy-splice | ferrolb/direct |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, get) in metrics {
        let ratio = |a: f64, b: f64| {
            if b > 0.0 {
                format!("{:.2}", a / b)
            } else {
                "-".to_owned()
            }
        };
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} |",
            get(&direct),
            get(&fl),
            get(&ha),
            get(&hs),
            ratio(get(&fl), get(&ha)),
            ratio(get(&fl), get(&hs)),
            ratio(get(&fl), get(&direct))
        );
    }
}
