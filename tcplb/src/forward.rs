//! Moving bytes between the client and backend connections until both directions end.
//!
//! Each direction starts with a buffered copy; once one read fills the buffer (a bulk
//! transfer), it switches to splice(2) through a pipe of its own, so the bytes move inside
//! the kernel, and back to buffered copying when the burst ends. Short request/response
//! traffic never holds a pipe, which keeps two file descriptors per connection for the
//! common Kubernetes API case, and a connection holds no copy buffer of its own unless the
//! other side is slower than it. When one side reaches end of stream, the other side's write
//! half is shut down (the FIN is passed on) and the opposite direction keeps flowing until it
//! ends too. A reset or other error ends both directions as [`End::Error`]; the caller then
//! resets both sockets, so a reset is passed on as a reset.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Bytes read per buffered copy; a read that fills it switches the direction to splice.
const COPY_BUFFER: usize = 16 * 1024;
/// Size asked for each splice pipe: larger pipes mean fewer system calls per byte.
const PIPE_SIZE: libc::c_int = 256 * 1024;

thread_local! {
    /// Each worker thread's buffer for buffered copies (see [`Direction::copy_chunk`]).
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; COPY_BUFFER].into_boxed_slice());
}

/// Timeouts of one proxied connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// No bytes in either direction for this long ends the connection.
    pub idle: Duration,
    /// No bytes from the client for this long ends the connection.
    pub client: Duration,
}

/// Where the byte counts of a connection go as they move (shared with metrics).
pub trait ByteSink: Send + Sync {
    /// `n` bytes moved from the client to the backend.
    fn to_backend(&self, n: u64);
    /// `n` bytes moved from the backend to the client.
    fn to_client(&self, n: u64);
}

/// How a forwarded connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Both sides closed their sending half.
    Closed,
    /// The idle or client timeout expired.
    TimedOut,
    /// A socket error (such as a reset) ended it.
    Error,
}

/// Totals of a finished connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Bytes from the client to the backend.
    pub to_backend: u64,
    /// Bytes from the backend to the client.
    pub to_client: u64,
    /// Why it ended.
    pub end: End,
}

/// Last activity, in milliseconds since the connection started.
struct Activity {
    start: Instant,
    any: AtomicU64,
    client: AtomicU64,
    to_backend: AtomicU64,
    to_client: AtomicU64,
}

impl Activity {
    fn touch(&self, from_client: bool, n: u64) {
        let now = self.start.elapsed().as_millis() as u64;
        self.any.store(now, Ordering::Relaxed);
        if from_client {
            self.client.store(now, Ordering::Relaxed);
            self.to_backend.fetch_add(n, Ordering::Relaxed);
        } else {
            self.to_client.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn totals(&self, end: End) -> Totals {
        Totals {
            to_backend: self.to_backend.load(Ordering::Relaxed),
            to_client: self.to_client.load(Ordering::Relaxed),
            end,
        }
    }
}

/// Forwards between `client` and `backend` until both directions end, an error or a timeout.
pub async fn forward(
    client: &TcpStream,
    backend: &TcpStream,
    timeouts: Timeouts,
    sink: Arc<dyn ByteSink>,
) -> Totals {
    let activity = Activity {
        start: Instant::now(),
        any: AtomicU64::new(0),
        client: AtomicU64::new(0),
        to_backend: AtomicU64::new(0),
        to_client: AtomicU64::new(0),
    };
    let up = Direction {
        from: client,
        to: backend,
        from_client: true,
        activity: &activity,
        sink: sink.as_ref(),
    };
    let down = Direction {
        from: backend,
        to: client,
        from_client: false,
        activity: &activity,
        sink: sink.as_ref(),
    };
    let both = async { tokio::try_join!(up.run(), down.run()) };
    let end = tokio::select! {
        result = both => if result.is_ok() { End::Closed } else { End::Error },
        () = watchdog(&activity, timeouts) => End::TimedOut,
    };
    activity.totals(end)
}

/// Returns once the idle or client timeout has passed without activity.
async fn watchdog(activity: &Activity, timeouts: Timeouts) {
    loop {
        let any = Duration::from_millis(activity.any.load(Ordering::Relaxed));
        let client = Duration::from_millis(activity.client.load(Ordering::Relaxed));
        let deadline = (any + timeouts.idle).min(client + timeouts.client);
        if activity.start.elapsed() >= deadline {
            return;
        }
        tokio::time::sleep_until(activity.start + deadline).await;
    }
}

struct Direction<'a> {
    from: &'a TcpStream,
    to: &'a TcpStream,
    from_client: bool,
    activity: &'a Activity,
    sink: &'a dyn ByteSink,
}

impl Direction<'_> {
    fn moved(&self, n: usize) {
        self.activity.touch(self.from_client, n as u64);
        if self.from_client {
            self.sink.to_backend(n as u64);
        } else {
            self.sink.to_client(n as u64);
        }
    }

    /// Runs this direction to its end.
    async fn run(self) -> io::Result<()> {
        let mut pipe = None;
        loop {
            let n = match &pipe {
                Some(p) => {
                    let n = self.splice_chunk(p).await?;
                    if n < COPY_BUFFER {
                        // The burst is over (the pipe is empty): give its descriptors back.
                        pipe = None;
                    }
                    n
                }
                None => {
                    let n = self.copy_chunk().await?;
                    if n == COPY_BUFFER {
                        // Bulk: hand the rest to the kernel when it can.
                        pipe = Pipe::new().ok();
                    }
                    n
                }
            };
            if n == 0 {
                // Pass the end of stream on; the other direction keeps going.
                let _ = socket2::SockRef::from(self.to).shutdown(std::net::Shutdown::Write);
                return Ok(());
            }
            self.moved(n);
        }
    }

    /// Moves what one read returns. The read and the write that follows it run without
    /// yielding, through the worker thread's scratch buffer; the connection keeps bytes of its
    /// own only for what the other side cannot take at once. So ten thousand open connections
    /// exchanging small requests hold no copy buffers at all.
    async fn copy_chunk(&self) -> io::Result<usize> {
        let (n, rest) = loop {
            read_ready(self.from).await?;
            let step = SCRATCH.with_borrow_mut(|scratch| self.read_and_write(scratch))?;
            if let Some(step) = step {
                break step;
            }
        };
        let mut written = 0;
        while let Some(left) = rest.get(written..).filter(|r| !r.is_empty()) {
            write_ready(self.to).await?;
            match self.to.try_write(left) {
                Ok(w) => written += w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// One read into `scratch` and as much of a write as the other side takes now: the
    /// number of bytes read and those still to write, or `None` when the read would block.
    fn read_and_write(&self, scratch: &mut [u8]) -> io::Result<Option<(usize, Vec<u8>)>> {
        let n = match read_draining(self.from, scratch) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        };
        let data = scratch.get(..n).unwrap_or_default();
        let written = if data.is_empty() {
            0
        } else {
            match self.to.try_write(data) {
                Ok(w) => w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) => return Err(e),
            }
        };
        Ok(Some((n, data.get(written..).unwrap_or_default().to_vec())))
    }

    /// Moves one pipe-full: socket to pipe, then pipe to socket until the pipe is empty.
    async fn splice_chunk(&self, pipe: &Pipe) -> io::Result<usize> {
        let from_fd = self.from.as_raw_fd();
        let n = loop {
            read_ready(self.from).await?;
            match self.from.try_io(Interest::READABLE, || {
                splice(from_fd, pipe.write.as_raw_fd(), PIPE_SIZE as usize)
            }) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        };
        let to_fd = self.to.as_raw_fd();
        let mut left = n;
        while left > 0 {
            write_ready(self.to).await?;
            match self.to.try_io(Interest::WRITABLE, || {
                splice(pipe.read.as_raw_fd(), to_fd, left)
            }) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(w) => left -= w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}

/// Waits until `socket` may have bytes to read. Each socket is read by one direction only,
/// so the socket's own reader waker slot serves; it costs no waiter list entry per wait as
/// `readable()` does, and keeps the connection's future smaller.
async fn read_ready(socket: &TcpStream) -> io::Result<()> {
    std::future::poll_fn(|cx| socket.poll_read_ready(cx)).await
}

/// Waits until `socket` may take bytes; written by one direction only (see [`read_ready`]).
async fn write_ready(socket: &TcpStream) -> io::Result<()> {
    std::future::poll_fn(|cx| socket.poll_write_ready(cx)).await
}

/// One read from `socket`. A read shorter than `buf` emptied the receive queue, so it also
/// clears the socket's readiness (the readiness seen before the read: bytes arriving since
/// wake it again). That saves a second read per message whose only answer is EAGAIN.
fn read_draining(socket: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = None;
    let fd = socket.as_raw_fd();
    let result = socket.try_io(Interest::READABLE, || {
        // SAFETY: reads into the buffer we hold exclusively, at most its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        got = Some(n);
        if n > 0 && n < buf.len() {
            Err(io::ErrorKind::WouldBlock.into())
        } else {
            Ok(n)
        }
    });
    match (result, got) {
        (Ok(n), _) => Ok(n),
        (Err(e), Some(n)) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
        (Err(e), _) => Err(e),
    }
}

/// A non-blocking pipe used as splice(2)'s in-kernel buffer.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl Pipe {
    fn new() -> io::Result<Pipe> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe2 writes two descriptors into the array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created and are owned by nobody else.
        let pipe = unsafe {
            Pipe {
                read: OwnedFd::from_raw_fd(fds[0]),
                write: OwnedFd::from_raw_fd(fds[1]),
            }
        };
        // A bigger pipe is an optimisation; the default size works too.
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(pipe.write.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) };
        Ok(pipe)
    }
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: plain system call on descriptors that outlive it; null offsets (stream fds).
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
