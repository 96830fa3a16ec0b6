//! L2 mode end to end: three nodes' `ferrolb-speaker` processes on one
//! bridged segment answer ARP and NDP for Service addresses, as a client's
//! own kernel sees it. One owner per address, spread over the nodes; a
//! killed owner's addresses move within a fraction of a second (measured
//! and printed); a partitioned node stops answering; a Service without
//! endpoints is never answered.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::l2::{
    arp_answers, arp_answers_all, client_of, neighbour, node_macs, wait_until, PATIENCE,
};
use common::{block_in, ApiServerOnLan, Scratch};
use ferrolb_api::{AnnouncementProtocol, IPAddressPool, L2Advertisement, ServiceAnnouncement};
use ferrolb_testbed::{Lan, Process, Topology};
use kube::api::ListParams;
use kube::{Api, Client};

const NODES: usize = 3;
const SERVICES: usize = 20;
/// Port of each speaker's admin server inside its node namespace.
const ADMIN: &str = "127.0.0.1:9611";

fn service_ip(i: usize) -> String {
    format!("198.18.0.{}", 200 + i)
}
const V6_SERVICE_IP: &str = "2001:db8::c8";
const IDLE_SERVICE_IP: &str = "198.18.0.230";

async fn seed(client: &Client, lan: &Lan) {
    common::seed_nodes(client, lan, NODES).await;
    let ns = common::NAMESPACE;
    common::apply::<IPAddressPool>(
        client,
        &format!(
            "{{metadata: {{name: lan, namespace: {ns}}}, spec: {{addresses: \
             [198.18.0.200-198.18.0.230, 2001:db8::c8-2001:db8::d0]}}}}"
        ),
    )
    .await;
    common::apply::<L2Advertisement>(
        client,
        &format!("{{metadata: {{name: l2, namespace: {ns}}}, spec: {{ipAddressPools: [lan]}}}}"),
    )
    .await;
    let everywhere = ["n1", "n2", "n3"];
    for i in 0..SERVICES {
        common::seed_service(
            client,
            &format!("web{i}"),
            "Cluster",
            &service_ip(i),
            Some(&everywhere),
        )
        .await;
    }
    common::seed_service(
        client,
        "web-v6",
        "Cluster",
        V6_SERVICE_IP,
        Some(&everywhere),
    )
    .await;
    common::seed_service(client, "idle", "Cluster", IDLE_SERVICE_IP, None).await;
}

fn start_speaker(lan: &Lan, scratch: &Scratch, i: usize) -> Process {
    let key = scratch.0.join("memberlist.key");
    common::start_speaker(
        lan,
        scratch,
        i,
        &[
            "--memberlist-key-file",
            key.to_str().unwrap(),
            "--admin-listen",
            ADMIN,
            "--drain-period",
            "0s",
        ],
    )
}

/// Who owns each address according to the speakers' ServiceAnnouncements.
async fn l2_owners(client: &Client) -> BTreeMap<String, Vec<String>> {
    let api: Api<ServiceAnnouncement> = Api::namespaced(client.clone(), common::NAMESPACE);
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ann in api.list(&ListParams::default()).await.unwrap().items {
        if ann.spec.protocol != AnnouncementProtocol::L2 {
            continue;
        }
        for ip in ann.status.map(|s| s.ips).unwrap_or_default() {
            owners.entry(ip).or_default().push(ann.spec.node.clone());
        }
    }
    owners
}

/// The owning node of every Service address, by ARP from the client; `Err`
/// names an address not answered by exactly one node.
fn owners_by_arp(
    lan: &Lan,
    macs: &BTreeMap<String, usize>,
) -> Result<BTreeMap<String, usize>, String> {
    let ips: Vec<String> = (0..SERVICES).map(service_ip).collect();
    ips.iter()
        .zip(arp_answers_all(lan, &ips))
        .map(
            |(ip, answers)| match answers.iter().collect::<Vec<_>>()[..] {
                [mac] => Ok((ip.clone(), macs[mac])),
                _ => Err(format!("{ip} answered by {answers:?}")),
            },
        )
        .collect()
}

fn speaker_metrics(lan: &Lan, i: usize) -> String {
    lan.nodes[i + 1]
        .ns
        .exec("curl", &["-sf", &format!("http://{ADMIN}/metrics")])
        .unwrap_or_default()
}

#[test]
fn speakers_answer_arp_and_ndp_with_one_owner_and_fail_over() {
    let lan = Topology::lan(NODES + 2).unwrap();
    lan.wait_connected(PATIENCE).unwrap();
    let scratch = Scratch::new();
    std::fs::write(
        scratch.0.join("memberlist.key"),
        "a shared test key of 32 bytes...",
    )
    .unwrap();
    let api_ns = &lan.nodes[0].ns;
    let api = ApiServerOnLan::start(&lan, &scratch);
    block_in(api_ns, async { seed(&api.client(), &lan).await });
    let mut speakers: Vec<Process> = (0..NODES)
        .map(|i| start_speaker(&lan, &scratch, i))
        .collect();
    let macs = node_macs(&lan, NODES);

    // Every address has exactly one owner, as the status objects say and as
    // the client's ARP sees it.
    // Speakers join the liveness group one by one and ownership settles as
    // they do: read both views afresh until they agree on all three nodes.
    let (reported, by_arp) = wait_until("the status objects and ARP to agree", || {
        let owners = block_in(api_ns, async { l2_owners(&api.client()).await });
        let complete = owners.len() == SERVICES + 1 && owners.values().all(|o| o.len() == 1);
        if !complete {
            return Err(format!("status {owners:?}"));
        }
        let by_arp = owners_by_arp(&lan, &macs)?;
        let agree = by_arp
            .iter()
            .all(|(ip, node)| owners[ip] == [common::node_name(*node)]);
        let used: BTreeSet<usize> = by_arp.values().copied().collect();
        if agree && used.len() == NODES {
            Ok((owners, by_arp))
        } else {
            Err(format!("ARP {by_arp:?} vs status {owners:?}"))
        }
    });
    let mut load = [0usize; NODES];
    for node in by_arp.values() {
        load[*node] += 1;
    }
    println!("addresses per node: {load:?}");
    assert!(load.iter().all(|&n| n <= 9), "uneven spread {load:?}");

    // IPv6: the client's kernel resolves the address by NDP to its owner.
    let v6_owner = &reported[V6_SERVICE_IP][0];
    let _ = client_of(&lan)
        .ns
        .exec("ping", &["-6", "-c", "1", "-W", "1", V6_SERVICE_IP]);
    let v6_mac = wait_until("an NDP answer", || {
        neighbour(&lan, V6_SERVICE_IP).ok_or_else(|| "no neighbour entry".to_owned())
    });
    assert_eq!(common::node_name(macs[&v6_mac]), *v6_owner);

    // No endpoints: nobody answers.
    assert!(arp_answers(&lan, IDLE_SERVICE_IP).is_empty());

    // Kill an owner: its addresses move to the others within a fraction of
    // a second (gratuitous ARP updates the client's existing entry).
    let victim_ip = service_ip(0);
    let victim = by_arp[&victim_ip];
    let _ = client_of(&lan)
        .ns
        .exec("ping", &["-c", "1", "-W", "1", &victim_ip]);
    let old_mac = wait_until("the client's entry", || {
        neighbour(&lan, &victim_ip).ok_or_else(|| "no neighbour entry".to_owned())
    });
    assert_eq!(macs[&old_mac], victim);
    let killed = Instant::now();
    speakers[victim].kill().unwrap();
    let new_mac = wait_until("the address to move", || {
        neighbour(&lan, &victim_ip)
            .filter(|m| *m != old_mac)
            .ok_or_else(|| "still the old owner".to_owned())
    });
    let gap = killed.elapsed();
    println!(
        "L2 failover: {victim_ip} moved from n{} to n{} in {gap:?}",
        victim + 1,
        macs[&new_mac] + 1
    );
    assert!(gap < Duration::from_secs(5), "failover took {gap:?}");
    wait_until("every address answered by a live node", || {
        let after = owners_by_arp(&lan, &macs)?;
        if after.values().all(|n| *n != victim) {
            Ok(())
        } else {
            Err(format!("{after:?}"))
        }
    });

    // Back again, then partition another node: it loses quorum and stops
    // answering, the majority takes over its addresses.
    speakers[victim] = start_speaker(&lan, &scratch, victim);
    wait_until("all three nodes owning addresses again", || {
        let owners = owners_by_arp(&lan, &macs)?;
        let used: BTreeSet<usize> = owners.values().copied().collect();
        if used.len() == NODES {
            Ok(())
        } else {
            Err(format!("{owners:?}"))
        }
    });
    let cut = (victim + 1) % NODES;
    let cut_node = &lan.nodes[cut + 1];
    cut_node
        .ns
        .ip(&["link", "set", "dev", cut_node.iface.name(), "down"])
        .unwrap();
    wait_until("the majority to take over", || {
        let owners = owners_by_arp(&lan, &macs)?;
        if owners.values().all(|n| *n != cut) {
            Ok(())
        } else {
            Err(format!("{owners:?}"))
        }
    });
    wait_until("the partitioned node to stop announcing", || {
        let metrics = speaker_metrics(&lan, cut);
        let announcing = metrics.lines().any(|l| {
            l.starts_with("ferrolb_speaker_announced{")
                && l.contains("protocol=\"l2\"")
                && l.ends_with(" 1")
        });
        if !metrics.is_empty() && !announcing {
            Ok(())
        } else {
            Err(metrics)
        }
    });
    assert!(speakers[cut].is_running());
    drop(speakers);
    drop(api);
}
