//! The interface facts the driver needs and the virtual addresses on it, through rtnetlink.
//!
//! The socket belongs to the network namespace of the thread that opens it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, MacVlanMode};
use rtnetlink::{AddressMessageBuilder, Handle, LinkMacVlan};
use tokio::task::JoinHandle;

use crate::error::VrrpError;
use ferrolb_l2::MacAddr;

/// `EEXIST`: the address is already there.
const EEXIST: i32 = libc::EEXIST;
/// `EADDRNOTAVAIL`: the address is already gone.
const EADDRNOTAVAIL: i32 = libc::EADDRNOTAVAIL;
/// `ENODEV`: the link is already gone.
const ENODEV: i32 = libc::ENODEV;

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

    /// The interface called `name`, if it exists.
    async fn find_link(&self, name: &str) -> Option<LinkInfo> {
        self.link(name).await.ok()
    }

    /// Creates the macvlan child `name` of interface `parent` in bridge mode (so the parent
    /// still receives everything, advertisements included) with address `mac`, up. One
    /// left behind by an earlier run is replaced.
    pub(crate) async fn create_macvlan(
        &self,
        parent: u32,
        name: &str,
        mac: MacAddr,
    ) -> Result<LinkInfo, VrrpError> {
        if let Some(stale) = self.find_link(name).await {
            self.delete_link(stale.index).await?;
        }
        let message = LinkMacVlan::new(name, parent, MacVlanMode::Bridge)
            .address(mac.0.to_vec())
            .up()
            .build();
        self.handle
            .link()
            .add(message)
            .execute()
            .await
            .map_err(|e| VrrpError::Interface {
                interface: name.to_owned(),
                reason: format!("creating the macvlan: {e}"),
            })?;
        self.link(name).await
    }

    /// Deletes link `index` (already gone is fine).
    pub(crate) async fn delete_link(&self, index: u32) -> Result<(), VrrpError> {
        match self.handle.link().del(index).execute().await {
            Err(e) if errno(&e) != Some(ENODEV) => Err(nl_error(e)),
            _ => Ok(()),
        }
    }

    /// The addresses on interface `index`, both families, in the kernel's order (primary
    /// first).
    pub(crate) async fn addresses(&self, index: u32) -> Result<Vec<IpAddr>, VrrpError> {
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
                if let AddressAttribute::Local(a) | AddressAttribute::Address(a) = attribute {
                    if !found.contains(a) {
                        found.push(*a);
                    }
                }
            }
        }
        Ok(found)
    }

    /// Adds `address` as a host address (/32, /128) to interface `index` (already present
    /// is fine). IPv6 addresses skip duplicate address detection: the other routers of the
    /// virtual router hold it while backup of it, and a master must use it at once.
    pub(crate) async fn add(&self, index: u32, address: IpAddr) -> Result<(), VrrpError> {
        let mut request = self
            .handle
            .address()
            .add(index, address, host_prefix(address));
        if address.is_ipv6() {
            let message = request.message_mut();
            message
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
            message.header.flags |= AddressHeaderFlags::Nodad;
        }
        match request.execute().await {
            Err(e) if errno(&e) != Some(EEXIST) => Err(nl_error(e)),
            _ => Ok(()),
        }
    }

    /// Removes host address `address` from interface `index` (already absent is fine).
    pub(crate) async fn remove(&self, index: u32, address: IpAddr) -> Result<(), VrrpError> {
        let message = match address {
            IpAddr::V4(a) => AddressMessageBuilder::<Ipv4Addr>::new()
                .index(index)
                .address(a, 32)
                .build(),
            IpAddr::V6(a) => AddressMessageBuilder::<Ipv6Addr>::new()
                .index(index)
                .address(a, 128)
                .build(),
        };
        match self.handle.address().del(message).execute().await {
            Err(e) if errno(&e) != Some(EADDRNOTAVAIL) => Err(nl_error(e)),
            _ => Ok(()),
        }
    }
}

/// The prefix length of a host address.
fn host_prefix(address: IpAddr) -> u8 {
    if address.is_ipv6() {
        128
    } else {
        32
    }
}
