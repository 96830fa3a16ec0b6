//! The interface facts the driver needs and the virtual addresses on it, through rtnetlink.
//!
//! The socket belongs to the network namespace of the thread that opens it.

use std::net::{IpAddr, Ipv4Addr};

use futures::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{LinkAttribute, LinkFlags};
use rtnetlink::{AddressMessageBuilder, Handle};
use tokio::task::JoinHandle;

use crate::error::VrrpError;
use ferrolb_l2::MacAddr;

/// `EEXIST`: the address is already there.
const EEXIST: i32 = libc::EEXIST;
/// `EADDRNOTAVAIL`: the address is already gone.
const EADDRNOTAVAIL: i32 = libc::EADDRNOTAVAIL;

/// One interface as the driver sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkInfo {
    /// Kernel index.
    pub index: u32,
    /// Hardware address, if Ethernet-sized.
    pub mac: Option<MacAddr>,
    /// Administratively up with carrier.
    pub up: bool,
}

/// An rtnetlink connection.
#[derive(Debug)]
pub(crate) struct Netlink {
    handle: Handle,
    connection: JoinHandle<()>,
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

fn nl_error(e: rtnetlink::Error) -> VrrpError {
    VrrpError::Netlink(e.to_string())
}

/// The errno of a kernel answer, if it is one.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(-m.raw_code()),
        _ => None,
    }
}

impl Netlink {
    /// Connects (must run inside a tokio runtime).
    pub(crate) fn connect() -> Result<Netlink, VrrpError> {
        let (connection, handle, _) =
            rtnetlink::new_connection().map_err(VrrpError::socket("rtnetlink socket"))?;
        Ok(Netlink {
            handle,
            connection: tokio::spawn(connection),
        })
    }

    /// The interface called `name`.
    pub(crate) async fn link(&self, name: &str) -> Result<LinkInfo, VrrpError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        let message = links
            .try_next()
            .await
            .map_err(|e| VrrpError::Interface {
                interface: name.to_owned(),
                reason: e.to_string(),
            })?
            .ok_or_else(|| VrrpError::Interface {
                interface: name.to_owned(),
                reason: "no such interface".into(),
            })?;
        let mac = message.attributes.iter().find_map(|a| match a {
            LinkAttribute::Address(bytes) => {
                <[u8; 6]>::try_from(bytes.as_slice()).ok().map(MacAddr)
            }
            _ => None,
        });
        let flags = message.header.flags;
        Ok(LinkInfo {
            index: message.header.index,
            mac,
            up: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::LowerUp),
        })
    }

    /// The IPv4 addresses on interface `index`, in the kernel's order (primary first).
    pub(crate) async fn ipv4_addresses(&self, index: u32) -> Result<Vec<Ipv4Addr>, VrrpError> {
        let mut found = Vec::new();
        let mut dump = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        while let Some(message) = dump.try_next().await.map_err(nl_error)? {
            // The filter is applied by rtnetlink after the dump; check the index anyway.
            if message.header.index != index {
                continue;
            }
            for attribute in &message.attributes {
                if let AddressAttribute::Local(IpAddr::V4(a))
                | AddressAttribute::Address(IpAddr::V4(a)) = attribute
                {
                    if !found.contains(a) {
                        found.push(*a);
                    }
                }
            }
        }
        Ok(found)
    }

    /// Adds `address`/32 to interface `index` (already present is fine).
    pub(crate) async fn add(&self, index: u32, address: Ipv4Addr) -> Result<(), VrrpError> {
        match self
            .handle
            .address()
            .add(index, IpAddr::V4(address), 32)
            .execute()
            .await
        {
            Err(e) if errno(&e) != Some(EEXIST) => Err(nl_error(e)),
            _ => Ok(()),
        }
    }

    /// Removes `address`/32 from interface `index` (already absent is fine).
    pub(crate) async fn remove(&self, index: u32, address: Ipv4Addr) -> Result<(), VrrpError> {
        let message = AddressMessageBuilder::<Ipv4Addr>::new()
            .index(index)
            .address(address, 32)
            .build();
        match self.handle.address().del(message).execute().await {
            Err(e) if errno(&e) != Some(EADDRNOTAVAIL) => Err(nl_error(e)),
            _ => Ok(()),
        }
    }
}
