//! `lbctl pools`: list, inspect, create, grow, shrink and delete
//! IPAddressPools. Every write is checked by the shared validator first.

mod guard;
mod view;

use anyhow::{bail, Context as _};
use clap::Subcommand;
use ferrolb_api::{
    validate_objects, AddressBlock, ClusterObjects, IPAddressPool, IPAddressPoolSpec,
    ServiceAllocation,
};
use kube::api::{DeleteParams, PostParams};
use kube::Api;

use crate::cluster;
use crate::kube_client::Kube;
use crate::output::{Format, Printer};
use crate::Failure;

/// `lbctl pools ...`.
#[derive(Debug, Subcommand)]
pub enum PoolsCommand {
    /// Every pool with its addresses, families and usage.
    List,
    /// One pool and every address given out from it.
    Get {
        /// Pool name.
        name: String,
    },
    /// Creates a pool.
    Create {
        /// Pool name.
        name: String,
        /// CIDRs or ranges (`192.0.2.0/28`, `192.0.2.10-192.0.2.20`),
        /// comma-separated or repeated.
        #[arg(long, required = true, value_delimiter = ',', num_args = 1..)]
        addresses: Vec<String>,
        /// Only Services asking for this pool by name get its addresses.
        #[arg(long)]
        no_auto_assign: bool,
        /// Skip IPv4 addresses ending in .0 and .255.
        #[arg(long)]
        avoid_buggy_ips: bool,
        /// Restrict the pool to Services in these namespaces (repeatable).
        #[arg(long = "namespace", value_name = "NAMESPACE")]
        namespaces: Vec<String>,
        /// Priority among pools matching a Service (lower first).
        #[arg(long)]
        priority: Option<i32>,
    },
    /// Adds CIDRs or ranges to a pool.
    AddRange {
        /// Pool name.
        name: String,
        /// CIDRs or ranges to add.
        #[arg(required = true)]
        ranges: Vec<String>,
    },
    /// Removes entries from a pool's addresses. Refuses when Services use
    /// addresses in them, unless --force.
    RemoveRange {
        /// Pool name.
        name: String,
        /// Entries to remove, written as in `spec.addresses`.
        #[arg(required = true)]
        ranges: Vec<String>,
        /// Remove even if Services use the addresses (they get new ones).
        #[arg(long)]
        force: bool,
    },
    /// Deletes a pool. Refuses when Services use its addresses, unless --force.
    Delete {
        /// Pool name.
        name: String,
        /// Delete even if Services use its addresses (they get new ones).
        #[arg(long)]
        force: bool,
    },
}

/// Runs a `pools` subcommand.
pub async fn run(kube: &Kube, printer: &Printer, command: PoolsCommand) -> anyhow::Result<()> {
    match command {
        PoolsCommand::List => {
            let pools = cluster::pools(kube).await?;
            let services = cluster::services(kube, None).await?;
            let summary = view::summarize(&pools, &services);
            if summary.is_empty() && matches!(printer.format, Format::Table | Format::Wide) {
                println!(
                    "No IPAddressPools in namespace {}. Create one: lbctl pools create NAME --addresses 192.0.2.0/28",
                    kube.ferrolb_namespace
                );
                return Ok(());
            }
            printer.print(&summary, || view::list_table(&summary))
        }
        PoolsCommand::Get { name } => get(kube, printer, &name).await,
        PoolsCommand::Create {
            name,
            addresses,
            no_auto_assign,
            avoid_buggy_ips,
            namespaces,
            priority,
        } => {
            let service_allocation =
                (!namespaces.is_empty() || priority.is_some()).then_some(ServiceAllocation {
                    priority,
                    namespaces,
                    ..ServiceAllocation::default()
                });
            let mut pool = IPAddressPool::new(
                &name,
                IPAddressPoolSpec {
                    addresses,
                    auto_assign: !no_auto_assign,
                    avoid_buggy_ips,
                    service_allocation,
                },
            );
            pool.metadata.namespace = Some(kube.ferrolb_namespace.clone());
            let mut objects = cluster::config_objects(kube).await?;
            if objects
                .pools
                .iter()
                .any(|p| p.metadata.name.as_deref() == Some(&name))
            {
                bail!(Failure(format!(
                    "IPAddressPool {name:?} already exists in {}: use `lbctl pools add-range {name} ...` to grow it",
                    kube.ferrolb_namespace
                )));
            }
            objects.pools.push(pool.clone());
            validate(&objects)?;
            api(kube)
                .create(&PostParams::default(), &pool)
                .await
                .with_context(|| format!("cannot create IPAddressPool {name:?}"))?;
            println!("IPAddressPool {name:?} created");
            Ok(())
        }
        PoolsCommand::AddRange { name, ranges } => {
            change(kube, &name, |spec| {
                spec.addresses.extend(ranges.iter().cloned());
                Ok(Vec::new())
            })
            .await?;
            println!("IPAddressPool {name:?}: added {}", ranges.join(", "));
            Ok(())
        }
        PoolsCommand::RemoveRange {
            name,
            ranges,
            force,
        } => remove_range(kube, &name, &ranges, force).await,
        PoolsCommand::Delete { name, force } => delete(kube, &name, force).await,
    }
}

fn api(kube: &Kube) -> Api<IPAddressPool> {
    Api::namespaced(kube.client.clone(), &kube.ferrolb_namespace)
}

/// Runs the shared validator over the objects as they would be after a
/// write, failing with every error found.
fn validate(objects: &ClusterObjects) -> anyhow::Result<()> {
    let errors = validate_objects(objects);
    if errors.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    bail!(Failure(format!(
        "the change was not made: the validator found {} problem(s):\n{}",
        errors.len(),
        lines.join("\n")
    )))
}

async fn find(kube: &Kube, objects: &ClusterObjects, name: &str) -> anyhow::Result<IPAddressPool> {
    match objects
        .pools
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(name))
    {
        Some(p) => Ok(p.clone()),
        None => bail!(not_found(kube, name, &objects.pools)),
    }
}

fn not_found(kube: &Kube, name: &str, pools: &[IPAddressPool]) -> Failure {
    let names: Vec<&str> = pools
        .iter()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    Failure(format!(
        "IPAddressPool {name:?} not found in namespace {}; existing pools: {} (see `lbctl pools list`)",
        kube.ferrolb_namespace,
        if names.is_empty() { "none".to_owned() } else { names.join(", ") }
    ))
}

/// Applies `edit` to a pool's spec, validates the result with every other
/// object, and replaces the pool. `edit` returns messages to print after.
async fn change(
    kube: &Kube,
    name: &str,
    edit: impl FnOnce(&mut IPAddressPoolSpec) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<()> {
    let mut objects = cluster::config_objects(kube).await?;
    let mut pool = find(kube, &objects, name).await?;
    let notes = edit(&mut pool.spec)?;
    for p in objects.pools.iter_mut() {
        if p.metadata.name.as_deref() == Some(name) {
            *p = pool.clone();
        }
    }
    validate(&objects)?;
    api(kube)
        .replace(name, &PostParams::default(), &pool)
        .await
        .with_context(|| format!("cannot update IPAddressPool {name:?}"))?;
    for note in notes {
        eprintln!("{note}");
    }
    Ok(())
}

/// The entries that parse; invalid ones cannot hold allocations (and the
/// validator reports them).
fn parse_blocks(entries: &[String]) -> Vec<AddressBlock> {
    entries.iter().filter_map(|e| e.parse().ok()).collect()
}

async fn remove_range(
    kube: &Kube,
    name: &str,
    ranges: &[String],
    force: bool,
) -> anyhow::Result<()> {
    let services = cluster::services(kube, None).await?;
    change(kube, name, |spec| {
        let unknown: Vec<&String> = ranges
            .iter()
            .filter(|r| !spec.addresses.iter().any(|a| a.trim() == r.trim()))
            .collect();
        if !unknown.is_empty() {
            bail!(Failure(format!(
                "IPAddressPool {name:?} has no entry {}; its entries are: {} (remove entries exactly as listed)",
                unknown.iter().map(|u| format!("{u:?}")).collect::<Vec<_>>().join(", "),
                spec.addresses.join(", ")
            )));
        }
        let (removed, kept): (Vec<String>, Vec<String>) = spec
            .addresses
            .iter()
            .cloned()
            .partition(|a| ranges.iter().any(|r| r.trim() == a.trim()));
        let affected = guard::services_losing_addresses(
            &parse_blocks(&removed),
            &parse_blocks(&kept),
            &services,
        );
        let mut notes = Vec::new();
        if !affected.is_empty() {
            let what = format!("remove {} from", removed.join(", "));
            if !force {
                bail!(Failure(guard::describe(name, &what, &affected, false)));
            }
            notes.push(guard::describe(name, &what, &affected, true));
        }
        spec.addresses = kept;
        Ok(notes)
    })
    .await?;
    println!("IPAddressPool {name:?}: removed {}", ranges.join(", "));
    Ok(())
}

async fn delete(kube: &Kube, name: &str, force: bool) -> anyhow::Result<()> {
    let objects = cluster::config_objects(kube).await?;
    let pool = find(kube, &objects, name).await?;
    let services = cluster::services(kube, None).await?;
    let affected =
        guard::services_losing_addresses(&parse_blocks(&pool.spec.addresses), &[], &services);
    if !affected.is_empty() {
        if !force {
            bail!(Failure(guard::describe(name, "delete", &affected, false)));
        }
        eprintln!("{}", guard::describe(name, "delete", &affected, true));
    }
    let mut remaining = objects.clone();
    remaining
        .pools
        .retain(|p| p.metadata.name.as_deref() != Some(name));
    validate(&remaining)?;
    api(kube)
        .delete(name, &DeleteParams::default())
        .await
        .with_context(|| format!("cannot delete IPAddressPool {name:?}"))?;
    println!("IPAddressPool {name:?} deleted");
    Ok(())
}

async fn get(kube: &Kube, printer: &Printer, name: &str) -> anyhow::Result<()> {
    let pools = cluster::pools(kube).await?;
    let Some(pool) = pools
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(name))
    else {
        bail!(not_found(kube, name, &pools));
    };
    let services = cluster::services(kube, None).await?;
    let events = cluster::events(kube, None).await?;
    let summary = view::summarize(std::slice::from_ref(pool), &services)
        .into_iter()
        .next()
        .context("summarizing the pool")?;
    let detail = view::PoolDetail {
        allocations: view::allocations(pool, &services, &events),
        summary,
    };
    let now = crate::age::now();
    printer.print_with(&detail, |wide, color| {
        let pool = view::list_table(std::slice::from_ref(&detail.summary)).render(wide, color);
        let allocations = if detail.allocations.is_empty() {
            "No addresses allocated.\n".to_owned()
        } else {
            view::allocations_table(&detail.allocations, &now).render(wide, color)
        };
        format!("{pool}\n{allocations}")
    })
}
