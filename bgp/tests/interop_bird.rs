//! FerroLB's BGP sessions against a real BIRD 2 in a network namespace: every scenario of
//! `interop_common::scenarios`, one test each.

mod interop_common;

interop_common::interop_tests!(crate::interop_common::Kind::Bird);
