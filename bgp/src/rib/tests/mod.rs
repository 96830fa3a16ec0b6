//! Scenario tests of the RIB as a whole, and helpers shared by the module tests.

pub(crate) mod support;

mod loc_rib;
mod scale;
mod single_best;
