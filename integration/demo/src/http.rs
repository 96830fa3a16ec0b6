//! A minimal HTTP/1.0 client: the client namespace's requests to Service
//! addresses, and admin API calls over TCP or a Unix socket. Responses are
//! read up to a bound, so nothing a server sends can make it allocate
//! without limit.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Largest response read (admin API listings included).
const MAX_RESPONSE: u64 = 4 << 20;

/// A response: status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body as text.
    pub body: String,
}

/// How long a request may take: to connect, and then for each read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting. A SYN toward a dead host is dropped, so this one is short when measuring a
    /// failover.
    pub connect: Duration,
    /// Each read or write once connected: a live server on a busy machine answers late, which
    /// is not a failure.
    pub response: Duration,
}

impl From<Duration> for Timeouts {
    fn from(both: Duration) -> Timeouts {
        Timeouts {
            connect: both,
            response: both,
        }
    }
}

/// `GET path` from `addr` over TCP, within `timeouts`.
pub fn get_tcp(
    addr: SocketAddr,
    path: &str,
    timeouts: impl Into<Timeouts>,
) -> Result<Response, String> {
    let timeouts = timeouts.into();
    let stream = TcpStream::connect_timeout(&addr, timeouts.connect).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeouts.response))
        .and_then(|()| stream.set_write_timeout(Some(timeouts.response)))
        .map_err(|e| e.to_string())?;
    exchange(stream, &addr.to_string(), path)
}

/// `GET path` from the HTTP server on the Unix socket `socket`.
pub fn get_unix(socket: &Path, path: &str, timeout: Duration) -> Result<Response, String> {
    let stream = UnixStream::connect(socket).map_err(|e| format!("{}: {e}", socket.display()))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    exchange(stream, "localhost", path)
}

fn exchange(mut stream: impl Read + Write, host: &str, path: &str) -> Result<Response, String> {
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: ferrolb-demo\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE)
        .read_to_end(&mut raw)
        .map_err(|e| e.to_string())?;
    parse_response(&raw)
}

/// Splits a complete HTTP/1.x response into status and body.
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("incomplete response ({} bytes)", raw.len()))?;
    let status_line = head.lines().next().unwrap_or_default();
    let mut words = status_line.split_whitespace();
    let version = words.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP response: {status_line:?}"));
    }
    let status = words
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status code in {status_line:?}"))?;
    Ok(Response {
        status,
        body: body.to_owned(),
    })
}

/// Asks the stand-in server at `addr` who it is: `Ok(name)` or why not.
pub fn whoami(addr: SocketAddr, timeouts: impl Into<Timeouts>) -> Result<String, String> {
    let response = get_tcp(addr, "/", timeouts)?;
    if response.status != 200 {
        return Err(format!("HTTP {}", response.status));
    }
    Ok(response.body.trim().to_owned())
}

/// `count` [`whoami`] requests to `addr` from inside `ns`, over a few
/// parallel connections; outcomes in no particular order.
pub fn whoami_many(
    ns: &ferrolb_testbed::Netns,
    addr: SocketAddr,
    count: usize,
    timeout: Duration,
) -> Result<Vec<Result<String, String>>, ferrolb_testbed::Error> {
    const PARALLEL: usize = 4;
    ns.run_in(|| {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..PARALLEL)
                .map(|w| {
                    let share = count / PARALLEL + usize::from(w < count % PARALLEL);
                    scope.spawn(move || {
                        (0..share)
                            .map(|_| whoami(addr, timeout))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| {
                    w.join()
                        .unwrap_or_else(|_| vec![Err("worker panicked".into())])
                })
                .collect()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_parse_or_say_why_not() {
        // raw response; (status, body) or a part of the error.
        type Case = (&'static [u8], Result<(u16, &'static str), &'static str>);
        let cases: &[Case] = &[
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nnode-1\n",
                Ok((200, "node-1\n")),
            ),
            (b"HTTP/1.0 503 Service Unavailable\r\n\r\n", Ok((503, ""))),
            (b"HTTP/1.1 200 OK\r\nContent-Le", Err("incomplete")),
            (b"SSH-2.0-OpenSSH\r\n\r\n", Err("not an HTTP response")),
            (b"HTTP/1.1 abc\r\n\r\n", Err("no status code")),
            (b"", Err("incomplete")),
        ];
        for (raw, want) in cases {
            let got = parse_response(raw);
            match (got, want) {
                (Ok(r), Ok((status, body))) => {
                    assert_eq!((r.status, r.body.as_str()), (*status, *body));
                }
                (Err(e), Err(part)) => assert!(e.contains(part), "{e}"),
                (got, want) => panic!("{raw:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
