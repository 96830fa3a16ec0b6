//! Who holds which address: taking and giving back addresses, keeping the
//! pools' free sets and the sharing index in step, and holding back
//! addresses a Service's status still lists.

use std::collections::btree_map::Entry;
use std::net::IpAddr;
use std::sync::Arc;

use ferrolb_api::{AddressFamily, ServiceReference};

use super::pool::family_index;
use super::request::to_bits;
use super::{AddressUse, Allocation, Allocator, ServiceRequest, SharingInfo};

/// The Services holding one address, with their sharing terms, in Service
/// order. Nearly always a single one: a vector, since a map's first node
/// alone would cost more than a kilobyte per address.
#[derive(Debug, Clone, Default)]
pub(super) struct Holders(Vec<(ServiceReference, SharingInfo)>);

impl Holders {
    fn position(&self, service: &ServiceReference) -> Result<usize, usize> {
        self.0.binary_search_by(|(s, _)| s.cmp(service))
    }

    /// The terms `service` holds the address on.
    pub(super) fn get(&self, service: &ServiceReference) -> Option<&SharingInfo> {
        let i = self.position(service).ok()?;
        self.0.get(i).map(|(_, terms)| terms)
    }

    /// Adds `service`, or replaces its terms.
    fn insert(&mut self, service: &ServiceReference, terms: SharingInfo) {
        match self.position(service) {
            Ok(i) => self.0[i].1 = terms,
            Err(i) => self.0.insert(i, (service.clone(), terms)),
        }
    }

    /// Removes `service`; its terms if it held the address.
    fn remove(&mut self, service: &ServiceReference) -> Option<SharingInfo> {
        let i = self.position(service).ok()?;
        Some(self.0.remove(i).1)
    }

    /// Holders and terms, in Service order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&ServiceReference, &SharingInfo)> {
        self.0.iter().map(|(s, t)| (s, t))
    }

    /// The holders, in order.
    pub(super) fn keys(&self) -> impl Iterator<Item = &ServiceReference> {
        self.0.iter().map(|(s, _)| s)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Allocator {
    /// Keeps those of `ips` that nobody holds any more out of circulation
    /// on behalf of `service`, whose status still lists them, until
    /// [`Allocator::status_updated`] or [`Allocator::forget`].
    pub fn retain_for_status(&mut self, service: &ServiceReference, ips: &[IpAddr]) {
        for ip in ips {
            if self.addresses.contains_key(ip) || self.releasing.contains_key(ip) {
                continue;
            }
            self.withdraw(*ip);
            self.releasing.insert(*ip, service.clone());
        }
    }

    /// `service`'s status now lists `ips`: addresses it was keeping out of
    /// circulation and no longer lists are free again. Returns them.
    pub fn status_updated(&mut self, service: &ServiceReference, ips: &[IpAddr]) -> Vec<IpAddr> {
        let freed: Vec<IpAddr> = self
            .releasing
            .iter()
            .filter(|(ip, owner)| *owner == service && !ips.contains(ip))
            .map(|(ip, _)| *ip)
            .collect();
        for ip in &freed {
            self.releasing.remove(ip);
            self.give_back(*ip);
        }
        freed
    }

    /// The Service is gone: frees everything it held or kept.
    pub fn forget(&mut self, service: &ServiceReference) -> Option<Allocation> {
        self.status_updated(service, &[]);
        self.release(service)
    }

    /// Addresses kept out of circulation for Services whose status still
    /// lists them.
    pub fn releasing(&self) -> impl Iterator<Item = (&IpAddr, &ServiceReference)> {
        self.releasing.iter()
    }

    /// Records `allocation` for `request.service`.
    pub(super) fn take(&mut self, request: &ServiceRequest, allocation: &Allocation) {
        for ip in &allocation.ips {
            self.add_holder(
                *ip,
                &allocation.pool,
                &request.service,
                request.sharing.clone(),
            );
        }
        self.services
            .insert(request.service.clone(), allocation.clone());
    }

    pub(super) fn add_holder(
        &mut self,
        ip: IpAddr,
        pool: &str,
        service: &ServiceReference,
        terms: SharingInfo,
    ) {
        // Without a key nobody may share the address, whatever the ports
        // and selector: keep only that.
        let terms = match &terms.key {
            Some(key) => {
                self.shared.entry(key.clone()).or_default().insert(ip);
                terms
            }
            None => SharingInfo::default(),
        };
        let pool_name = self
            .pools
            .get(pool)
            .map_or_else(|| Arc::from(pool), |state| Arc::clone(&state.name));
        match self.addresses.entry(ip) {
            Entry::Occupied(mut used) => {
                used.get_mut().holders.insert(service, terms);
            }
            Entry::Vacant(slot) => {
                let mut holders = Holders::default();
                holders.insert(service, terms);
                slot.insert(AddressUse {
                    pool: pool_name,
                    holders,
                });
                self.releasing.remove(&ip);
                self.withdraw(ip);
                if let Some(state) = self.pools.get_mut(pool) {
                    state.in_use[family_index(AddressFamily::of(ip))] += 1;
                }
            }
        }
    }

    pub(super) fn remove_holder(&mut self, ip: IpAddr, service: &ServiceReference) {
        let Some(used) = self.addresses.get_mut(&ip) else {
            return;
        };
        let Some(terms) = used.holders.remove(service) else {
            return;
        };
        if let Some(key) = terms.key {
            if !used
                .holders
                .iter()
                .any(|(_, t)| t.key.as_ref() == Some(&key))
            {
                if let Some(set) = self.shared.get_mut(&key) {
                    set.remove(&ip);
                    if set.is_empty() {
                        self.shared.remove(&key);
                    }
                }
            }
        }
        if !used.holders.is_empty() {
            return;
        }
        let pool = Arc::clone(&used.pool);
        self.addresses.remove(&ip);
        let index = family_index(AddressFamily::of(ip));
        if let Some(state) = self.pools.get_mut(&*pool) {
            state.in_use[index] = state.in_use[index].saturating_sub(1);
        }
        self.give_back(ip);
    }

    /// Takes `ip` out of every pool's free set. Overlapping pools (which
    /// validation rejects) must not hand it out either.
    pub(super) fn withdraw(&mut self, ip: IpAddr) {
        let (family, bits) = to_bits(ip);
        for state in self.pools.values_mut() {
            state.free[family_index(family)].remove(bits);
        }
    }

    /// Returns `ip` to the free set of every pool offering it.
    pub(super) fn give_back(&mut self, ip: IpAddr) {
        let (family, bits) = to_bits(ip);
        for state in self.pools.values_mut() {
            if state.pool.offers(ip) {
                state.free[family_index(family)].insert(bits);
            }
        }
    }
}
