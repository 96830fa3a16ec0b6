//! VRRPv3 (RFC 5798): moves a virtual IP address between FerroLB router VMs.
#![warn(missing_docs)]
