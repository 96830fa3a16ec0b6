//! Looking at L2 announcements from a client on the segment, the way its
//! kernel sees them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ferrolb_testbed::topology::Node;
use ferrolb_testbed::Lan;

/// How long [`wait_until`] waits.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The client: the LAN's last namespace.
pub fn client_of(lan: &Lan) -> &Node {
    lan.nodes.last().expect("a LAN with a client")
}

/// The MAC of each of the first `nodes` Kubernetes nodes (LAN nodes 1..),
/// to their index.
pub fn node_macs(lan: &Lan, nodes: usize) -> BTreeMap<String, usize> {
    (0..nodes)
        .map(|i| {
            let node = &lan.nodes[i + 1];
            let out = node
                .ns
                .ip(&["-br", "link", "show", "dev", node.iface.name()])
                .unwrap();
            let mac = out.split_whitespace().nth(2).unwrap().to_lowercase();
            (mac, i)
        })
        .collect()
}

/// Every MAC that answered an ARP request for each of `ips` from the
/// client (empty: nobody answered), asking for all at once. `arping -r`
/// prints one MAC per reply and waits `-w` for them all.
pub fn arp_answers_all(lan: &Lan, ips: &[String]) -> Vec<BTreeSet<String>> {
    let client = client_of(lan);
    let children: Vec<_> = ips
        .iter()
        .map(|ip| {
            client
                .ns
                .command("arping")
                .args(["-r", "-c", "1", "-w", "0.5", "-i", client.iface.name(), ip])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| l.trim().to_lowercase())
                .filter(|l| l.len() == 17 && l.matches(':').count() == 5)
                .collect()
        })
        .collect()
}

pub fn arp_answers(lan: &Lan, ip: &str) -> BTreeSet<String> {
    arp_answers_all(lan, &[ip.to_owned()]).remove(0)
}

/// The MAC the client's kernel has for `ip`, if any.
pub fn neighbour(lan: &Lan, ip: &str) -> Option<String> {
    let out = client_of(lan).ns.ip(&["neigh", "show", ip]).ok()?;
    let mut words = out.split_whitespace();
    words.find(|w| *w == "lladdr")?;
    words.next().map(str::to_lowercase)
}

pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) => assert!(
                start.elapsed() < PATIENCE,
                "timed out waiting for {what}; last: {last}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
