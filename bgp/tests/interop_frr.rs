//! FerroLB's BGP sessions against a real FRR 8.4 in a network namespace: every scenario of
//! `interop_common::scenarios`, one test each.

mod interop_common;

interop_common::interop_tests!(crate::interop_common::Kind::Frr);
