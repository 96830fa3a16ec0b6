//! When the router's kernel FIB last changed: a netlink socket subscribed to IPv4 route and
//! nexthop-object notifications records the arrival time of each one.
//!
//! A dump of a 100,000-route table takes tens of milliseconds, so the first dump that shows a
//! goal met ends somewhere after the change that met it. The last notification before that
//! dump ended is the change itself, to within the time the kernel takes to deliver it. If the
//! socket overflowed (ENOBUFS: notifications were lost), no time is claimed from it and the
//! dump's time stands.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ferrolb_testbed::Netns;
use netlink_packet_core::NetlinkBuffer;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};

/// `RTNLGRP_IPV4_ROUTE`.
const GROUP_IPV4_ROUTE: u32 = 7;
/// `RTNLGRP_NEXTHOP`.
const GROUP_NEXTHOP: u32 = 32;
/// `RTM_NEWROUTE`, `RTM_DELROUTE`, `RTM_NEWNEXTHOP`, `RTM_DELNEXTHOP`.
const CHANGES: [u16; 4] = [24, 25, 104, 105];
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

/// A NETLINK_ROUTE socket of the calling thread's namespace, in both groups.
fn subscribe() -> io::Result<Socket> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    // Forcing the size needs CAP_NET_ADMIN (the benchmark runs as root); the plain one is
    // capped by net.core.rmem_max.
    if force_receive_buffer(&socket, RECEIVE_BUFFER).is_err() {
        socket.set_rx_buf_sz(RECEIVE_BUFFER)?;
    }
    socket.bind_auto()?;
    for group in [GROUP_IPV4_ROUTE, GROUP_NEXTHOP] {
        socket.add_membership(group)?;
    }
    // Wakes the reader now and then to look whether it should stop.
    socket2::SockRef::from(&socket).set_read_timeout(Some(POLL))?;
    Ok(socket)
}

/// `SO_RCVBUFFORCE`, which neither netlink-sys nor socket2 offers.
fn force_receive_buffer(socket: &Socket, size: libc::c_int) -> io::Result<()> {
    // SAFETY: an int option on a socket we own, with the size of an int.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            std::ptr::from_ref(&size).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether a datagram of netlink messages holds a route or nexthop change.
fn holds_change(datagram: &[u8]) -> bool {
    let mut offset = 0;
    while let Some(rest) = datagram.get(offset..).filter(|r| !r.is_empty()) {
        // A length below the header or past the datagram ends the walk.
        let Ok(message) = NetlinkBuffer::new_checked(rest) else {
            return false;
        };
        if CHANGES.contains(&message.message_type()) {
            return true;
        }
        // Messages are 4-byte aligned.
        offset += (message.length() as usize).next_multiple_of(4);
    }
    false
}

fn read(socket: &Socket, record: &Mutex<Record>, stop: &AtomicBool) {
    let mut buf = Vec::with_capacity(1 << 20);
    while !stop.load(Ordering::Relaxed) {
        buf.clear();
        let received = socket.recv(&mut buf, 0);
        let now = Instant::now();
        match received {
            Ok(_) => {
                if holds_change(&buf) {
                    record
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .changes
                        .push(now);
                }
            }
            Err(error) => match error.raw_os_error() {
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
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `NLMSG_HDRLEN`.
    const HEADER: usize = 16;

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
