//! Choosing a Service's addresses: keeping what it holds if that still
//! satisfies its request, else the requested addresses, the named pool or
//! the first pool in automatic order; the lowest free or shareable address.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ferrolb_api::AddressFamily;

use super::request::{from_bits, service_name};
use super::sharing::check_sharing;
use super::{
    automatic_order, Allocation, AllocationError, Allocator, IpFamilyPolicy, ServiceRequest,
    SharingConflict, Shortfall,
};

impl Allocator {
    /// Gives `request.service` its addresses: the ones it holds if they
    /// still satisfy the request, else new ones (see the module docs for the
    /// order). On failure the Service holds nothing.
    pub fn assign(&mut self, request: &ServiceRequest) -> Result<Allocation, AllocationError> {
        if let Err(e) = request.check_requested_families() {
            self.release(&request.service);
            return Err(e);
        }
        if let Some(current) = self.services.get(&request.service).cloned() {
            if let Some(next) = self.keep(&current, request) {
                self.release(&request.service);
                self.take(request, &next);
                return Ok(next);
            }
            self.release(&request.service);
        }
        let allocation = self.choose(request)?;
        self.take(request, &allocation);
        Ok(allocation)
    }

    /// The allocation the Service should have if `current` still satisfies
    /// its request (possibly with a second family added or dropped), or
    /// `None` if it must be given up.
    pub(super) fn keep(
        &mut self,
        current: &Allocation,
        request: &ServiceRequest,
    ) -> Option<Allocation> {
        let pool = self.pool(&current.pool)?;
        if !pool.admits(request) || request.pool.as_ref().is_some_and(|p| *p != current.pool) {
            return None;
        }
        if !request.requested_ips.is_empty() {
            let held: BTreeSet<&IpAddr> = current.ips.iter().collect();
            let wanted: BTreeSet<&IpAddr> = request.requested_ips.iter().collect();
            if held != wanted {
                return None;
            }
        }
        if self.check_in_use(&current.ips, request).is_err() {
            return None;
        }
        let of_family = |family| {
            current
                .ips
                .iter()
                .copied()
                .find(|ip| AddressFamily::of(*ip) == family)
        };
        let mut ips = vec![of_family(request.primary_family)?];
        if let Some(family) = request.secondary_family() {
            match of_family(family) {
                Some(ip) => ips.push(ip),
                None if request.requested_ips.is_empty() => {
                    match self.find_in_pool(&current.pool, family, request) {
                        Ok(ip) => ips.push(ip),
                        Err(_) if request.family_policy == IpFamilyPolicy::RequireDualStack => {
                            return None
                        }
                        Err(_) => {}
                    }
                }
                None => {}
            }
        }
        Some(Allocation {
            pool: current.pool.clone(),
            ips,
        })
    }

    /// New addresses for a Service that holds none.
    pub(super) fn choose(
        &mut self,
        request: &ServiceRequest,
    ) -> Result<Allocation, AllocationError> {
        if let Some(name) = &request.pool {
            if !self.pools.contains_key(name) {
                return Err(AllocationError::PoolNotFound { pool: name.clone() });
            }
        }
        if !request.requested_ips.is_empty() {
            return self.choose_requested(request);
        }
        if let Some(name) = &request.pool {
            if !self.pool(name).is_some_and(|p| p.admits(request)) {
                return Err(AllocationError::PoolNotAllowed { pool: name.clone() });
            }
            let ips =
                self.try_pool(name, request)
                    .map_err(|(family, shortfall)| match shortfall {
                        Shortfall::NoFamily => AllocationError::FamilyUnavailable {
                            pool: name.clone(),
                            family,
                        },
                        Shortfall::Exhausted => AllocationError::PoolExhausted {
                            pool: name.clone(),
                            family,
                        },
                    })?;
            return Ok(Allocation {
                pool: name.clone(),
                ips,
            });
        }
        let order: Vec<String> = automatic_order(self.pools(), request)
            .iter()
            .map(|p| p.name().to_owned())
            .collect();
        if order.is_empty() {
            return Err(AllocationError::NoEligiblePool);
        }
        for name in &order {
            if let Ok(ips) = self.try_pool(name, request) {
                return Ok(Allocation {
                    pool: name.clone(),
                    ips,
                });
            }
        }
        Err(AllocationError::AllPoolsExhausted {
            need: request.need(),
            tried: order,
        })
    }

    /// The requested addresses, if one pool serving the Service offers them
    /// all and nobody holds them incompatibly.
    pub(super) fn choose_requested(
        &self,
        request: &ServiceRequest,
    ) -> Result<Allocation, AllocationError> {
        for ip in &request.requested_ips {
            if let Some(named) = &request.pool {
                if !self.pool(named).is_some_and(|p| p.offers(*ip)) {
                    // Report why the address is unusable before blaming
                    // the annotation: it may be in no pool at all.
                    self.pool_offering(*ip, None)?;
                    return Err(AllocationError::NotInNamedPool {
                        ip: *ip,
                        pool: named.clone(),
                    });
                }
            }
        }
        let pool = self.common_pool(&request.requested_ips, request.pool.as_deref())?;
        if !self.pool(&pool).is_some_and(|p| p.admits(request)) {
            return Err(AllocationError::PoolNotAllowed { pool });
        }
        self.check_in_use(&request.requested_ips, request)?;
        let mut ips = request.requested_ips.clone();
        request.order_ips(&mut ips);
        Ok(Allocation { pool, ips })
    }

    /// The one pool offering every address in `ips` (`prefer` if it does).
    pub(super) fn common_pool(
        &self,
        ips: &[IpAddr],
        prefer: Option<&str>,
    ) -> Result<String, AllocationError> {
        let mut common: Option<(IpAddr, &str)> = None;
        for ip in ips {
            let pool = self.pool_offering(*ip, prefer.or(common.map(|(_, p)| p)))?;
            match common {
                Some((first, first_pool)) if first_pool != pool => {
                    return Err(AllocationError::RequestedInDifferentPools {
                        first,
                        first_pool: first_pool.to_owned(),
                        second: *ip,
                        second_pool: pool.to_owned(),
                    })
                }
                Some(_) => {}
                None => common = Some((*ip, pool)),
            }
        }
        common
            .map(|(_, p)| p.to_owned())
            .ok_or_else(|| AllocationError::InvalidRequest("no addresses requested".to_owned()))
    }

    /// The pool that can assign `ip`: `prefer` if it offers it, else the
    /// pool it is already assigned from, else the first by name.
    pub(super) fn pool_offering(
        &self,
        ip: IpAddr,
        prefer: Option<&str>,
    ) -> Result<&str, AllocationError> {
        let offers = |name: &str| self.pool(name).is_some_and(|p| p.offers(ip));
        let preferred = prefer.and_then(|name| self.pools.get_key_value(name));
        if let Some((name, _)) = preferred.filter(|(_, s)| s.pool.offers(ip)) {
            return Ok(name);
        }
        if let Some(used) = self.addresses.get(&ip).filter(|u| offers(&u.pool)) {
            return Ok(&*used.pool);
        }
        if let Some(pool) = self.pools().find(|p| p.offers(ip)) {
            return Ok(pool.name());
        }
        match self.pools().find(|p| p.contains(ip)) {
            Some(pool) => Err(AllocationError::AvoidedAddress {
                ip,
                pool: pool.name().to_owned(),
            }),
            None => Err(AllocationError::NotInAnyPool { ip }),
        }
    }

    /// Fails if any of `ips` is held by a Service `request` may not share with.
    pub(super) fn check_in_use(
        &self,
        ips: &[IpAddr],
        request: &ServiceRequest,
    ) -> Result<(), AllocationError> {
        for ip in ips {
            self.shareable(*ip, request)
                .map_err(|conflict| AllocationError::InUse { ip: *ip, conflict })?;
        }
        Ok(())
    }

    /// Whether `request.service` may hold `ip` next to its other holders.
    pub(super) fn shareable(
        &self,
        ip: IpAddr,
        request: &ServiceRequest,
    ) -> Result<(), SharingConflict> {
        if let Some(owner) = self.releasing.get(&ip).filter(|o| **o != request.service) {
            return Err(SharingConflict::BeingReleased {
                other: service_name(owner),
            });
        }
        let Some(used) = self.addresses.get(&ip) else {
            return Ok(());
        };
        used.holders
            .iter()
            .filter(|(holder, _)| **holder != request.service)
            .try_for_each(|(holder, terms)| {
                check_sharing(&service_name(holder), terms, &request.sharing)
            })
    }

    /// Addresses from one pool: the primary family, and the other one as
    /// the family policy asks. Fails with the family that is short.
    pub(super) fn try_pool(
        &mut self,
        name: &str,
        request: &ServiceRequest,
    ) -> Result<Vec<IpAddr>, (AddressFamily, Shortfall)> {
        let primary = request.primary_family;
        let mut ips = vec![self
            .find_in_pool(name, primary, request)
            .map_err(|s| (primary, s))?];
        if let Some(family) = request.secondary_family() {
            match self.find_in_pool(name, family, request) {
                Ok(ip) => ips.push(ip),
                Err(s) if request.family_policy == IpFamilyPolicy::RequireDualStack => {
                    return Err((family, s))
                }
                Err(_) => {}
            }
        }
        Ok(ips)
    }

    /// The lowest address of `family` in pool `name` the Service can take:
    /// a free one, or one it may share.
    pub(super) fn find_in_pool(
        &mut self,
        name: &str,
        family: AddressFamily,
        request: &ServiceRequest,
    ) -> Result<IpAddr, Shortfall> {
        let state = self.pools.get_mut(name).ok_or(Shortfall::NoFamily)?;
        if !state.pool.has_family(family) {
            return Err(Shortfall::NoFamily);
        }
        let free = state.first_free(family).map(|bits| from_bits(family, bits));
        let shared = self.first_shareable(name, family, request);
        match (free, shared) {
            (Some(a), Some(b)) => Ok(a.min(b)),
            (Some(ip), None) | (None, Some(ip)) => Ok(ip),
            (None, None) => Err(Shortfall::Exhausted),
        }
    }

    /// The lowest address of `family` assigned from pool `name` that the
    /// Service may share with its holders.
    pub(super) fn first_shareable(
        &self,
        name: &str,
        family: AddressFamily,
        request: &ServiceRequest,
    ) -> Option<IpAddr> {
        let key = request.sharing.key.as_ref()?;
        self.shared.get(key)?.iter().copied().find(|ip| {
            AddressFamily::of(*ip) == family
                && self.addresses.get(ip).is_some_and(|u| &*u.pool == name)
                && self.shareable(*ip, request).is_ok()
        })
    }
}
