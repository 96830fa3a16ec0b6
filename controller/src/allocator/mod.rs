//! The address allocator: which load-balancer addresses each Service gets.
//! Plain data in, decisions out; no I/O.
//!
//! # Order
//!
//! A Service gets, in this order of precedence:
//! 1. the addresses it requests (`ferrolb.io/loadBalancerIPs`, else
//!    `spec.loadBalancerIP`), from the pool that contains them — any pool,
//!    also one with `autoAssign: false` (if it also names a pool, they
//!    must be in that pool);
//! 2. otherwise addresses from the pool named by `ferrolb.io/address-pool`
//!    (also with `autoAssign: false`);
//! 3. otherwise addresses from the first pool, in [`automatic_order`], that
//!    has what the Service needs: the `autoAssign` pools whose
//!    `serviceAllocation` selects the Service by priority (lower number
//!    first, no priority last) then name, then the other `autoAssign` pools
//!    by name.
//!
//! A pool whose `serviceAllocation` does not select the Service never serves
//! it, however it is asked for. Names compare as strings. Within a pool the
//! lowest free address (by value, whatever the order of its blocks) wins;
//! a Service with a sharing key takes the lowest address that is free or
//! held by Services it may share with (see [`sharing`]), whichever is lower.
//! Pools with `avoidBuggyIPs` never assign IPv4 addresses ending in `.0` or
//! `.255`.
//!
//! # Address families
//!
//! The first address has the Service's primary family (`ipFamilies[0]`).
//! `SingleStack` gets only that; `RequireDualStack` gets one address of each
//! family from the same pool or nothing; `PreferDualStack` gets the other
//! family too if the pool that supplies the primary one has it free.
//!
//! # Stability
//!
//! A Service keeps its addresses as long as they still satisfy its request:
//! they are in a pool that still exists and serves it, match the requested
//! addresses and pool if any, and can still be shared with their other
//! holders. A better pool appearing later does not move it.
//!
//! # Addresses in transit
//!
//! An address a Service gives up while its status still lists it is held
//! back ([`Allocator::retain_for_status`]) until the status has been
//! rewritten ([`Allocator::status_updated`]) or the Service is gone
//! ([`Allocator::forget`]): two Services never list the same address, not
//! even for the moment between a decision and its write.
//!
//! # Cost
//!
//! Each pool keeps its free addresses as an interval set, so finding the
//! lowest free address, taking it and giving it back are O(log n) in the
//! number of allocations, whatever the pool's size.

mod choose;
pub mod error;
mod holders;
pub mod interval;
pub mod pool;
pub mod request;
pub mod sharing;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use ferrolb_api::{AddressFamily, ServiceReference};

pub use error::{AllocationError, SharingConflict};
pub use interval::IntervalSet;
pub use pool::{automatic_order, Pool};
pub use request::{FamilyNeed, IpFamilyPolicy, PortKey, ServiceRequest, SharingInfo};

use holders::Holders;
use pool::{family_index, FAMILIES};
use request::from_bits;

/// The addresses assigned to one Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The pool they come from.
    pub pool: String,
    /// The addresses, primary family first; one or two (one per family).
    pub ips: Vec<IpAddr>,
}

/// A Service that lost addresses because they left every pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    /// The Service.
    pub service: ServiceReference,
    /// The addresses it lost.
    pub ips: Vec<IpAddr>,
}

/// Address usage of one family of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FamilyUsage {
    /// Addresses the pool can assign.
    pub size: u128,
    /// Addresses assigned from it.
    pub in_use: u64,
}

impl FamilyUsage {
    /// Addresses still free.
    pub fn available(&self) -> u128 {
        self.size.saturating_sub(u128::from(self.in_use))
    }
}

/// Address usage of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolUsage {
    /// IPv4 usage.
    pub ipv4: FamilyUsage,
    /// IPv6 usage.
    pub ipv6: FamilyUsage,
}

impl PoolUsage {
    /// Usage of `family`.
    pub fn family(&self, family: AddressFamily) -> FamilyUsage {
        match family {
            AddressFamily::V4 => self.ipv4,
            AddressFamily::V6 => self.ipv6,
        }
    }
}

/// Why a pool cannot supply a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shortfall {
    /// The pool has no address of the family at all.
    NoFamily,
    /// Every address of the family is taken.
    Exhausted,
}

/// A pool and its free addresses.
#[derive(Debug, Clone)]
struct PoolState {
    pool: Pool,
    /// The pool's name, shared by every address assigned from it.
    name: Arc<str>,
    /// Addresses of the pool nobody holds, by family index. Addresses the
    /// pool avoids may linger here until [`PoolState::first_free`] meets and
    /// drops them.
    free: [IntervalSet; 2],
    /// Addresses assigned from this pool, by family index.
    in_use: [u64; 2],
}

impl PoolState {
    fn new(pool: Pool) -> Self {
        let free = FAMILIES.map(|f| pool.span(f).clone());
        PoolState {
            name: Arc::from(pool.name()),
            pool,
            free,
            in_use: [0; 2],
        }
    }

    /// The lowest free address of `family` the pool may assign.
    fn first_free(&mut self, family: AddressFamily) -> Option<u128> {
        let free = &mut self.free[family_index(family)];
        loop {
            let bits = free.first()?;
            if !self.pool.avoids(from_bits(family, bits)) {
                return Some(bits);
            }
            // Never assignable from this pool: drop it for good, so each
            // avoided address costs one removal in the pool's lifetime.
            free.remove(bits);
        }
    }
}

/// Who holds an address.
#[derive(Debug, Clone)]
struct AddressUse {
    /// The pool it was assigned from (the pool's own name, shared).
    pool: Arc<str>,
    /// The Services holding it, with their sharing terms.
    holders: Holders,
}

/// The allocation state: pools, and which Service holds which addresses.
#[derive(Debug, Clone, Default)]
pub struct Allocator {
    pools: BTreeMap<String, PoolState>,
    services: BTreeMap<ServiceReference, Allocation>,
    addresses: BTreeMap<IpAddr, AddressUse>,
    /// Addresses held by at least one Service with a given sharing key.
    shared: HashMap<String, BTreeSet<IpAddr>>,
    /// Addresses a Service gave up while its status still lists them: out
    /// of circulation until [`Allocator::status_updated`] says the status
    /// moved on, so no two Services ever list one address.
    releasing: BTreeMap<IpAddr, ServiceReference>,
}

impl Allocator {
    /// An allocator without pools or allocations.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pools, by name.
    pub fn pools(&self) -> impl Iterator<Item = &Pool> {
        self.pools.values().map(|s| &s.pool)
    }

    /// The pool called `name`.
    pub fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.get(name).map(|s| &s.pool)
    }

    /// The addresses `service` holds.
    pub fn allocation(&self, service: &ServiceReference) -> Option<&Allocation> {
        self.services.get(service)
    }

    /// Every Service's addresses, by Service.
    pub fn allocations(&self) -> impl Iterator<Item = (&ServiceReference, &Allocation)> {
        self.services.iter()
    }

    /// The Services holding `ip`.
    pub fn holders(&self, ip: IpAddr) -> Vec<&ServiceReference> {
        self.addresses
            .get(&ip)
            .map(|u| u.holders.keys().collect())
            .unwrap_or_default()
    }

    /// Usage of the pool called `name`.
    pub fn usage(&self, name: &str) -> Option<PoolUsage> {
        let state = self.pools.get(name)?;
        let family = |f: AddressFamily| FamilyUsage {
            size: state.pool.size(f),
            in_use: state.in_use[family_index(f)],
        };
        Some(PoolUsage {
            ipv4: family(AddressFamily::V4),
            ipv6: family(AddressFamily::V6),
        })
    }

    /// Replaces the pools. Services keep every address still offered by a
    /// pool — their own if it still offers it, else the first by name that
    /// does — and lose the others; returns the Services that lost any.
    pub fn set_pools(&mut self, pools: impl IntoIterator<Item = Pool>) -> Vec<Lost> {
        self.pools = pools
            .into_iter()
            .map(|p| (p.name().to_owned(), PoolState::new(p)))
            .collect();
        let services = std::mem::take(&mut self.services);
        let addresses = std::mem::take(&mut self.addresses);
        self.shared.clear();
        let mut lost = Vec::new();
        for (service, allocation) in services {
            let home = allocation.ips.first().and_then(|first| {
                self.pool_offering(*first, Some(&allocation.pool))
                    .ok()
                    .map(str::to_owned)
            });
            let (kept, gone): (Vec<IpAddr>, Vec<IpAddr>) = allocation.ips.iter().partition(|ip| {
                home.as_ref()
                    .and_then(|h| self.pool(h))
                    .is_some_and(|p| p.offers(**ip))
            });
            if let Some(home) = home.filter(|_| !kept.is_empty()) {
                for ip in &kept {
                    let terms = addresses
                        .get(ip)
                        .and_then(|u| u.holders.get(&service))
                        .cloned()
                        .unwrap_or_default();
                    self.add_holder(*ip, &home, &service, terms);
                }
                self.services.insert(
                    service.clone(),
                    Allocation {
                        pool: home,
                        ips: kept,
                    },
                );
            }
            if !gone.is_empty() {
                lost.push(Lost { service, ips: gone });
            }
        }
        // Addresses on their way out stay out, unless no pool has them.
        let releasing = std::mem::take(&mut self.releasing);
        for (ip, service) in releasing {
            if self.pools().any(|p| p.contains(ip)) {
                self.withdraw(ip);
                self.releasing.insert(ip, service);
            }
        }
        lost
    }

    /// Records that `request.service` holds `ips` (as read from its status
    /// after a restart), if they are in one pool and not held by a Service
    /// they cannot be shared with. Only the first address of each family is
    /// taken. Does not check the Service's request: a later
    /// [`Allocator::assign`] keeps or replaces them.
    pub fn restore(
        &mut self,
        request: &ServiceRequest,
        ips: &[IpAddr],
    ) -> Result<Allocation, AllocationError> {
        self.release(&request.service);
        let mut chosen: Vec<IpAddr> = Vec::new();
        for ip in ips {
            if !chosen
                .iter()
                .any(|c| AddressFamily::of(*c) == AddressFamily::of(*ip))
            {
                chosen.push(*ip);
            }
        }
        if chosen.is_empty() {
            return Err(AllocationError::InvalidRequest(
                "no addresses to restore".to_owned(),
            ));
        }
        let pool = self.common_pool(&chosen, request.allocated_from_pool.as_deref())?;
        self.check_in_use(&chosen, request)?;
        request.order_ips(&mut chosen);
        let allocation = Allocation { pool, ips: chosen };
        self.take(request, &allocation);
        Ok(allocation)
    }

    /// Frees the addresses `service` holds; returns them. Addresses it
    /// keeps for its status (see [`Allocator::retain_for_status`]) stay kept.
    pub fn release(&mut self, service: &ServiceReference) -> Option<Allocation> {
        let allocation = self.services.remove(service)?;
        for ip in &allocation.ips {
            self.remove_holder(*ip, service);
        }
        Some(allocation)
    }
}
