//! A packet capture on the client's interface: every VRRP advertisement and ARP frame it sees,
//! with the kernel's receive timestamp, so a test can say when each router last claimed the
//! virtual router and which MAC the client was last told the VIP lives at.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

use ferrolb_testbed::netns::{Netns, NsThread};
use ferrolb_vrrp::packet::decode_ipv4;
use ferrolb_vrrp::MacAddr;

/// `ETH_P_ALL`, `ETH_P_IP`, `ETH_P_ARP`.
const ETH_P_ALL: u16 = 0x0003;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;

/// One captured frame of interest.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A VRRP advertisement.
    Advertisement {
        at: SystemTime,
        source: IpAddr,
        priority: u8,
    },
    /// An ARP request or reply (gratuitous ones included).
    Arp {
        at: SystemTime,
        sender_ip: Ipv4Addr,
        sender_mac: String,
    },
}

impl Frame {
    /// When the kernel received it.
    pub fn at(&self) -> SystemTime {
        match self {
            Frame::Advertisement { at, .. } | Frame::Arp { at, .. } => *at,
        }
    }
}

/// A running capture.
pub struct Capture {
    stop: Arc<AtomicBool>,
    frames: Arc<Mutex<Vec<Frame>>>,
    thread: Option<NsThread<io::Result<()>>>,
}

impl Capture {
    /// Starts capturing on `interface` inside `ns`; returns once the socket is bound.
    pub fn start(ns: &Netns, interface: &str) -> Capture {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let frames = Arc::new(Mutex::new(Vec::new()));
        let sink = frames.clone();
        let interface = interface.to_owned();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = ns
            .spawn_thread_in(move || {
                let socket = match PacketSocket::open(&interface) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(());
                        return Err(e);
                    }
                };
                let _ = ready_tx.send(());
                let mut buf = [0u8; 2048];
                while !flag.load(Ordering::Relaxed) {
                    match socket.recv(&mut buf) {
                        Ok((len, at)) => sink.lock().unwrap().extend(parse(&buf[..len], at)),
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                            ) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            })
            .unwrap();
        ready_rx.recv().unwrap();
        Capture {
            stop,
            frames,
            thread: Some(thread),
        }
    }

    /// Everything captured so far, oldest first.
    pub fn frames(&self) -> Vec<Frame> {
        self.frames.lock().unwrap().clone()
    }

    /// Waits for the next frame (after the call) that `f` accepts.
    pub fn wait_for(&self, what: &str, f: impl Fn(&Frame) -> bool) {
        let seen = self.frames.lock().unwrap().len();
        super::wait_until(what, super::WAIT, || {
            self.frames.lock().unwrap()[seen..].iter().any(&f)
        });
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(worker) = self.thread.take() {
            let result = worker.join().expect("the capture thread panicked");
            if !thread::panicking() {
                result.expect("capturing on the client");
            }
        }
    }
}

/// The frame's VRRP advertisement or ARP message, if it is one.
fn parse(frame: &[u8], at: SystemTime) -> Option<Frame> {
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    match ethertype {
        ETH_P_IP => {
            let received = decode_ipv4(frame.get(14..)?).ok()?;
            Some(Frame::Advertisement {
                at,
                source: received.source,
                priority: received.advertisement.priority,
            })
        }
        ETH_P_ARP => {
            let arp = frame.get(14..42)?;
            let sender_ip: [u8; 4] = arp.get(14..18)?.try_into().ok()?;
            Some(Frame::Arp {
                at,
                sender_ip: sender_ip.into(),
                sender_mac: MacAddr(arp.get(8..14)?.try_into().ok()?).to_string(),
            })
        }
        _ => None,
    }
}

/// An `AF_PACKET` socket bound to one interface, with kernel receive timestamps and a short
/// receive timeout (so the capture loop sees its stop flag).
struct PacketSocket {
    fd: libc::c_int,
}

impl PacketSocket {
    fn open(interface: &str) -> io::Result<PacketSocket> {
        let name = std::ffi::CString::new(interface)?;
        // SAFETY: plain system calls on a descriptor this function owns; every pointer passed
        // points to a live, correctly sized value.
        unsafe {
            let ifindex = libc::if_nametoindex(name.as_ptr());
            if ifindex == 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW,
                i32::from(ETH_P_ALL.to_be()),
            );
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let socket = PacketSocket { fd };
            let mut addr: libc::sockaddr_ll = mem::zeroed();
            addr.sll_family = libc::AF_PACKET as u16;
            addr.sll_protocol = ETH_P_ALL.to_be();
            addr.sll_ifindex = ifindex as i32;
            check(libc::bind(
                fd,
                (&raw const addr).cast(),
                mem::size_of::<libc::sockaddr_ll>() as u32,
            ))?;
            let on: libc::c_int = 1;
            socket.set(libc::SO_TIMESTAMPNS, &on)?;
            let timeout = libc::timeval {
                tv_sec: 0,
                tv_usec: 100_000,
            };
            socket.set(libc::SO_RCVTIMEO, &timeout)?;
            Ok(socket)
        }
    }

    fn set<T>(&self, option: libc::c_int, value: &T) -> io::Result<()> {
        // SAFETY: `value` is a live `T` of the size passed.
        check(unsafe {
            libc::setsockopt(
                self.fd,
                libc::SOL_SOCKET,
                option,
                (value as *const T).cast(),
                mem::size_of::<T>() as u32,
            )
        })
    }

    /// One frame and the time the kernel received it.
    fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, SystemTime)> {
        let mut control = [0u64; 16];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: the header points at `iov` and `control`, both alive for the call; the
        // control messages are read through the kernel's CMSG macros within `control`.
        unsafe {
            let mut msg: libc::msghdr = mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = mem::size_of_val(&control);
            let len = libc::recvmsg(self.fd, &mut msg, 0);
            if len < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut at = SystemTime::now();
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET
                    && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
                {
                    let ts = libc::CMSG_DATA(cmsg)
                        .cast::<libc::timespec>()
                        .read_unaligned();
                    at =
                        SystemTime::UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
            Ok((len as usize, at))
        }
    }
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        // SAFETY: the descriptor is owned and closed once.
        unsafe { libc::close(self.fd) };
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
