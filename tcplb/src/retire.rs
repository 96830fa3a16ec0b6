//! When a removed frontend or backend is really gone: it is retired by a reload, and its
//! last connection has closed. Its metric series are dropped then, exactly once (pure).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Open connections of something a reload can remove, and whether it was removed.
///
/// [`Retirement::retire`] and [`Retirement::close`] each say whether the caller is the one
/// that saw it gone; at most one call ever does, whatever the interleaving.
#[derive(Debug, Default)]
pub(crate) struct Retirement {
    active: AtomicU64,
    retired: AtomicBool,
    released: AtomicBool,
}

impl Retirement {
    /// Connections open now.
    pub fn active(&self) -> u64 {
        self.active.load(Ordering::SeqCst)
    }

    /// Whether a reload removed it.
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::SeqCst)
    }

    /// Counts a new connection.
    pub fn open(&self) {
        self.active.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts a closed connection; `true` when that was the last one of a retired thing.
    pub fn close(&self) -> bool {
        let before = self.active.fetch_sub(1, Ordering::SeqCst);
        before == 1 && self.is_retired() && self.claim()
    }

    /// Marks it removed; `true` when no connection is open, so it is gone now.
    pub fn retire(&self) -> bool {
        self.retired.store(true, Ordering::SeqCst);
        self.active() == 0 && self.claim()
    }

    /// Sequentially consistent order: whichever of `retire` and the last `close` comes
    /// second sees the other's write; both may see it, so the first to claim wins.
    fn claim(&self) -> bool {
        !self.released.swap(true, Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug)]
    enum Op {
        Open,
        Close,
        Retire,
    }
    use Op::*;

    #[test]
    fn gone_exactly_once() {
        // (operations, which of them reports "gone")
        let cases: &[(&[Op], &[usize])] = &[
            (&[Retire], &[0]),
            (&[Retire, Retire], &[0]),
            (&[Open, Retire, Close], &[2]),
            (&[Open, Open, Retire, Close, Close], &[4]),
            (&[Open, Close, Retire], &[2]),
            (&[Open, Close], &[]),
            // A connection that began just as it was removed: no second report.
            (&[Retire, Open, Close], &[0]),
            (&[Open, Retire, Open, Close, Close], &[4]),
        ];
        for (ops, expected) in cases {
            let r = Retirement::default();
            let gone: Vec<usize> = ops
                .iter()
                .enumerate()
                .filter(|(_, op)| match op {
                    Open => {
                        r.open();
                        false
                    }
                    Close => r.close(),
                    Retire => r.retire(),
                })
                .map(|(i, _)| i)
                .collect();
            assert_eq!(&gone, expected, "{ops:?}");
        }
    }
}
