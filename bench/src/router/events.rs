//! When the router's kernel FIB last changed: a netlink socket subscribed to IPv4 route and
//! nexthop-object notifications records the arrival time of each one.
//!
//! A dump of a 100,000-route table takes tens of milliseconds, so the first dump that shows a
//! goal met ends somewhere after the change that met it. The last notification before that
//! dump ended is the change itself, to within the time the kernel takes to deliver it. If the
//! socket overflowed (ENOBUFS: notifications were lost), no time is claimed from it and the
//! dump's time stands.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ferrolb_testbed::Netns;

/// `RTNLGRP_IPV4_ROUTE`.
const GROUP_IPV4_ROUTE: u32 = 7;
/// `RTNLGRP_NEXTHOP`.
const GROUP_NEXTHOP: u32 = 32;
/// `RTM_NEWROUTE`, `RTM_DELROUTE`, `RTM_NEWNEXTHOP`, `RTM_DELNEXTHOP`.
const CHANGES: [u16; 4] = [24, 25, 104, 105];
/// `NLMSG_HDRLEN`.
const HEADER: usize = 16;
/// Receive buffer asked for: a million route notifications of BIRD's fit.
const RECEIVE_BUFFER: libc::c_int = 256 << 20;
/// How often the reading thread looks whether it should stop.
const POLL: Duration = Duration::from_millis(100);

/// What the reading thread recorded.
#[derive(Debug, Default)]
struct Record {
    /// Arrival time of every datagram holding at least one change, in order.
    changes: Vec<Instant>,
    /// Whether notifications were lost.
    overflowed: bool,
}

/// Records FIB changes in a namespace until dropped.
pub struct FibEvents {
    record: Arc<Mutex<Record>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FibEvents {
    /// Subscribes in `ns`'s namespace and starts recording.
    pub fn start(ns: &Netns) -> io::Result<FibEvents> {
        let socket = ns
            .run_in(subscribe)
            .map_err(|e| io::Error::other(e.to_string()))??;
        let record = Arc::new(Mutex::new(Record::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (record, stop) = (record.clone(), stop.clone());
            std::thread::Builder::new()
                .name("fib events".into())
                .spawn(move || read(&socket, &record, &stop))?
        };
        Ok(FibEvents {
            record,
            stop,
            thread: Some(thread),
        })
    }

    /// The last change at or before `t` since [`FibEvents::clear`], if none was lost.
    pub fn last_change(&self, t: Instant) -> Option<Instant> {
        let record = self.record.lock().unwrap_or_else(PoisonError::into_inner);
        if record.overflowed {
            return None;
        }
        let end = record.changes.partition_point(|c| *c <= t);
        record.changes.get(..end)?.last().copied()
    }

    /// Forgets what was recorded (and a past overflow), for the next measurement.
    pub fn clear(&self) {
        *self.record.lock().unwrap_or_else(PoisonError::into_inner) = Record::default();
    }
}

impl Drop for FibEvents {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn setsockopt(fd: &OwnedFd, level: i32, name: i32, value: libc::c_int) -> io::Result<()> {
    // SAFETY: an int option on a socket we own.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A NETLINK_ROUTE socket of the calling thread's namespace, in both groups.
fn subscribe() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2).
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just created and nobody else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // Forcing the size needs CAP_NET_ADMIN (the benchmark runs as root); the plain one is
    // capped by net.core.rmem_max.
    if setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RECEIVE_BUFFER).is_err() {
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, RECEIVE_BUFFER)?;
    }
    // SAFETY: a zeroed sockaddr_nl is valid; the kernel assigns the port id.
    let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: binds our socket to a sockaddr_nl of the right size.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            std::ptr::from_ref(&address).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    for group in [GROUP_IPV4_ROUTE, GROUP_NEXTHOP] {
        setsockopt(
            &fd,
            libc::SOL_NETLINK,
            libc::NETLINK_ADD_MEMBERSHIP,
            group as libc::c_int,
        )?;
    }
    let timeout = libc::timeval {
        tv_sec: 0,
        tv_usec: POLL.as_micros() as libc::suseconds_t,
    };
    // SAFETY: a timeval option on a socket we own.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            std::ptr::from_ref(&timeout).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Whether a datagram of netlink messages holds a route or nexthop change.
fn holds_change(datagram: &[u8]) -> bool {
    let mut rest = datagram;
    while let (Some(len), Some(kind)) = (rest.get(0..4), rest.get(4..6)) {
        let len = u32::from_ne_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let kind = u16::from_ne_bytes([kind[0], kind[1]]);
        if CHANGES.contains(&kind) {
            return true;
        }
        if len < HEADER {
            return false;
        }
        // Messages are 4-byte aligned.
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    false
}

fn read(socket: &OwnedFd, record: &Mutex<Record>, stop: &AtomicBool) {
    let mut buf = vec![0u8; 1 << 20];
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: reads into a buffer we own, at most its length.
        let n = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let now = Instant::now();
        if n < 0 {
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::ENOBUFS) => {
                    record
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .overflowed = true;
                }
                Some(libc::EAGAIN | libc::EINTR) => {}
                _ => {
                    tracing::warn!(%error, "reading FIB notifications");
                    return;
                }
            }
            continue;
        }
        let datagram = buf.get(..n as usize).unwrap_or_default();
        if holds_change(datagram) {
            record
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .changes
                .push(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, payload: usize) -> Vec<u8> {
        let len = (HEADER + payload) as u32;
        let mut m = len.to_ne_bytes().to_vec();
        m.extend(kind.to_ne_bytes());
        m.resize(HEADER + payload, 0);
        m.resize((HEADER + payload).next_multiple_of(4), 0);
        m
    }

    #[test]
    fn a_datagram_holds_a_change_if_any_of_its_messages_is_one() {
        let route = message(24, 28);
        let nexthop_deleted = message(105, 9);
        let link = message(16, 20);
        let cases: [(Vec<u8>, bool); 6] = [
            (route.clone(), true),
            (nexthop_deleted.clone(), true),
            (link.clone(), false),
            ([link.clone(), nexthop_deleted].concat(), true),
            ([link.clone(), link.clone()].concat(), false),
            // A length below the header ends the walk instead of looping.
            ([0u8, 0, 0, 0, 16, 0].to_vec(), false),
        ];
        for (datagram, want) in cases {
            assert_eq!(holds_change(&datagram), want, "{datagram:?}");
        }
    }
}
