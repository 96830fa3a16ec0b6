//! The stand-in servers: `ferrolb-demo serve --name NAME --listen ADDR...`
//! answers every HTTP request with its name. On each node it stands in for
//! the Services' pods (answering with the node's name) and for a
//! kube-apiserver behind the routers' TCP load balancer.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Most connections served at once; more are closed at once.
const MAX_ACTIVE: usize = 256;
/// Largest request head read.
const MAX_REQUEST: usize = 8 << 10;
/// Time a client has to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// The response to every request.
pub fn response(name: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}\n",
        name.len() + 1
    )
}

/// Serves `name` on every address in `listen` until the process ends.
pub fn serve(name: &str, listen: &[SocketAddr]) -> std::io::Result<()> {
    let listeners = listen
        .iter()
        .map(|addr| {
            TcpListener::bind(addr)
                .map_err(|e| std::io::Error::new(e.kind(), format!("binding {addr}: {e}")))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let reply: Arc<str> = response(name).into();
    let active = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            let reply = reply.clone();
            let active = active.clone();
            std::thread::spawn(move || accept_loop(&listener, &reply, &active))
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

fn accept_loop(listener: &TcpListener, reply: &Arc<str>, active: &Arc<AtomicUsize>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_ACTIVE {
            active.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let reply = reply.clone();
        let done = active.clone();
        let spawned = std::thread::Builder::new().spawn(move || {
            answer(stream, &reply);
            done.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            // The closure (and its guard on `active`) was dropped unrun.
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Reads the request head (bounded) and writes the reply.
fn answer(mut stream: TcpStream, reply: &str) {
    if stream.set_read_timeout(Some(REQUEST_TIMEOUT)).is_err() {
        return;
    }
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while head.len() < MAX_REQUEST && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
    }
    let _ = stream.write_all(reply.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{get_tcp, parse_response};

    #[test]
    fn the_reply_is_a_complete_response_naming_the_server() {
        for name in ["node-1", "apiserver@node-3"] {
            let parsed = parse_response(response(name).as_bytes()).unwrap();
            assert_eq!(parsed.status, 200);
            assert_eq!(parsed.body, format!("{name}\n"));
        }
    }

    #[test]
    fn answers_requests_on_loopback() {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        std::thread::spawn(move || serve("node-9", &[addr]));
        let mut last = Err(String::new());
        for _ in 0..100 {
            last = get_tcp(addr, "/", Duration::from_secs(1));
            if last.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(last.unwrap().body, "node-9\n");
    }
}
