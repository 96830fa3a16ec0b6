//! One member of a mixed virtual router: FerroLB, keepalived or FRR's vrrpd, behind one
//! interface so a test can run the same scenario with each implementation in each role.

use super::frr::FrrVrrp;
use super::{ferrolb_config, wait_until, FerroNode, Keepalived, Lan, VRID, WAIT};

/// Which VRRP implementation a member runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    Ferrolb,
    Keepalived,
    Frr,
}

/// A running member.
pub enum Member {
    Ferrolb(FerroNode),
    Keepalived(Keepalived),
    Frr(FrrVrrp),
}

impl Member {
    /// Starts `which` on router `i` of `lan` with `priority` and an advertisement interval of
    /// `interval_cs`, serving the VIP from the virtual MAC when `virtual_mac` is set (vrrpd
    /// always does).
    pub fn start(
        lan: &Lan,
        which: Implementation,
        i: usize,
        priority: u8,
        interval_cs: u16,
        virtual_mac: bool,
    ) -> Member {
        match which {
            Implementation::Ferrolb => {
                let mut config = ferrolb_config(priority, interval_cs);
                config.virtual_mac = virtual_mac;
                Member::Ferrolb(FerroNode::start(&lan.routers[i], config))
            }
            Implementation::Keepalived => Member::Keepalived(Keepalived::start_with_mac(
                lan,
                i,
                priority,
                interval_cs,
                virtual_mac,
            )),
            Implementation::Frr => Member::Frr(FrrVrrp::start(lan, i, priority, interval_cs)),
        }
    }

    /// The MAC router `i` serves the VIP from when this member is master there.
    pub fn vip_mac(&self, lan: &Lan, i: usize) -> String {
        let virtual_mac = match self {
            Member::Ferrolb(n) => n.uses_virtual_mac(),
            Member::Keepalived(k) => k.virtual_mac,
            Member::Frr(_) => true,
        };
        if virtual_mac {
            ferrolb_vrrp::virtual_mac(VRID).to_string()
        } else {
            lan.mac(i)
        }
    }

    /// Whether the member says it is master.
    pub fn is_master(&self) -> bool {
        self.state_is("master")
    }

    /// Whether the member says it is backup.
    pub fn is_backup(&self) -> bool {
        self.state_is("backup")
    }

    fn state_is(&self, state: &str) -> bool {
        let now = match self {
            Member::Ferrolb(n) => Some(n.status().state.as_str().to_owned()),
            Member::Keepalived(k) => k.last_state(),
            Member::Frr(f) => f.state(),
        };
        now.is_some_and(|s| s.eq_ignore_ascii_case(state))
    }

    /// Waits until the member says it is master.
    pub fn wait_master(&self) {
        wait_until("member in Master", WAIT, || self.is_master());
    }

    /// Waits until the member says it is backup.
    pub fn wait_backup(&self) {
        wait_until("member in Backup", WAIT, || self.is_backup());
    }
}
