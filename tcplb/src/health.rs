//! A backend's health as its checks see it: rise and fall counting (pure).

/// Health state of one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    up: bool,
    /// Consecutive results contrary to the current state.
    streak: u32,
    rise: u32,
    fall: u32,
}

/// A change of health state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `rise` consecutive successes: back in rotation.
    WentUp,
    /// `fall` consecutive failures: out of rotation for new connections.
    WentDown,
}

impl Health {
    /// A new backend: in rotation at once, but on probation, so its first failure (a check
    /// or a refused connection) takes it out rather than the `fall`-th.
    pub fn new(rise: u32, fall: u32) -> Health {
        let fall = fall.max(1);
        Health {
            up: true,
            streak: fall - 1,
            rise: rise.max(1),
            fall,
        }
    }

    /// Whether the backend is up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// New rise and fall counts (after a reload), keeping the state.
    pub fn set_thresholds(&mut self, rise: u32, fall: u32) {
        self.rise = rise.max(1);
        self.fall = fall.max(1);
        self.streak = self.streak.min(self.threshold() - 1);
    }

    fn threshold(&self) -> u32 {
        if self.up {
            self.fall
        } else {
            self.rise
        }
    }

    /// Records one check result (or a passive connect outcome); returns the state change.
    pub fn observe(&mut self, ok: bool) -> Option<Transition> {
        if ok == self.up {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        if self.streak < self.threshold() {
            return None;
        }
        self.up = ok;
        self.streak = 0;
        Some(if ok {
            Transition::WentUp
        } else {
            Transition::WentDown
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rise_and_fall() {
        use Transition::*;
        // (rise, fall, results, transitions per result, final state)
        type Case<'a> = (u32, u32, &'a [bool], &'a [Option<Transition>], bool);
        let cases: [Case; 6] = [
            // Probation: the first failure counts as the fall-th.
            (2, 3, &[false], &[Some(WentDown)], false),
            (2, 3, &[true, false, false], &[None, None, None], true),
            (
                2,
                3,
                &[true, false, false, false],
                &[None, None, None, Some(WentDown)],
                false,
            ),
            (
                2,
                3,
                &[false, true, true],
                &[Some(WentDown), None, Some(WentUp)],
                true,
            ),
            // A success in the middle resets the count.
            (
                2,
                2,
                &[true, false, true, false, false],
                &[None, None, None, None, Some(WentDown)],
                false,
            ),
            (
                1,
                1,
                &[false, true, false],
                &[Some(WentDown), Some(WentUp), Some(WentDown)],
                false,
            ),
        ];
        for (rise, fall, results, expected, up) in cases {
            let mut h = Health::new(rise, fall);
            let got: Vec<_> = results.iter().map(|&ok| h.observe(ok)).collect();
            assert_eq!(got, expected, "rise {rise} fall {fall} {results:?}");
            assert_eq!(h.is_up(), up);
        }
    }

    #[test]
    fn lowering_thresholds_keeps_state_and_caps_the_streak() {
        let mut h = Health::new(5, 5);
        assert_eq!(h.observe(false), Some(Transition::WentDown));
        h.observe(true);
        h.observe(true);
        h.observe(true);
        h.set_thresholds(2, 2);
        assert!(!h.is_up());
        assert_eq!(h.observe(true), Some(Transition::WentUp));
    }
}
