//! Memory use of the device under test, from `/proc/<pid>/status`: resident set size now
//! (`VmRSS`) and at its peak (`VmHWM`, the "high water mark").

/// Resident memory of one process, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resident {
    /// `VmRSS`.
    pub now: u64,
    /// `VmHWM`.
    pub peak: u64,
}

impl std::ops::Add for Resident {
    type Output = Resident;

    fn add(self, other: Resident) -> Resident {
        Resident {
            now: self.now + other.now,
            peak: self.peak + other.peak,
        }
    }
}

/// Reads a process's resident memory.
pub fn resident(pid: u32) -> std::io::Result<Resident> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status(&text).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("no VmRSS/VmHWM in /proc/{pid}/status"),
        )
    })
}

/// `VmRSS` and `VmHWM` from the text of `/proc/<pid>/status` (values in kB).
pub fn parse_status(text: &str) -> Option<Resident> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let mut words = line.get(name.len()..)?.split_whitespace();
        let value: u64 = words.next()?.parse().ok()?;
        match words.next() {
            Some("kB") => value.checked_mul(1024),
            _ => None,
        }
    };
    Some(Resident {
        now: field("VmRSS:")?,
        peak: field("VmHWM:")?,
    })
}

/// A device under test made of one or more processes.
pub trait ProcessGroup {
    /// The processes whose memory counts.
    fn processes(&self) -> &[ferrolb_testbed::Process];

    /// `Ok` while every process runs.
    fn check_running(&self) -> ferrolb_testbed::Result<()> {
        self.processes()
            .iter()
            .try_for_each(ferrolb_testbed::Process::check_running)
    }

    /// The resident memory of its processes together.
    fn resident(&self) -> std::io::Result<Resident> {
        self.processes()
            .iter()
            .map(|p| resident(p.pid()))
            .try_fold(Resident::default(), |sum, r| Ok(sum + r?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_bytes() {
        let status = "Name:\tbird\nVmPeak:\t  20000 kB\nVmHWM:\t    9000 kB\nVmRSS:\t    8000 kB\nThreads:\t1\n";
        assert_eq!(
            parse_status(status),
            Some(Resident {
                now: 8000 * 1024,
                peak: 9000 * 1024
            })
        );
        let cases = [
            "Name:\tx\n",
            "VmHWM:\t9000 kB\n",
            "VmHWM:\tlots kB\nVmRSS:\t1 kB\n",
            "VmHWM:\t9000 MB\nVmRSS:\t1 kB\n",
        ];
        for text in cases {
            assert_eq!(parse_status(text), None, "{text:?}");
        }
    }

    #[test]
    fn our_own_status_is_readable() {
        let me = resident(std::process::id()).unwrap();
        assert!(me.now > 0 && me.peak >= me.now);
    }
}
