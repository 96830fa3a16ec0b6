//! `lbctl import metallb` on samples written from MetalLB's documentation:
//! each converts, and FerroLB's validator accepts the result.

mod common;

use ferrolb_api::{validate_objects, ClusterObjects};

struct Sample {
    file: &'static str,
    /// pools, peers, BGP advertisements, L2 advertisements, BFD profiles.
    counts: [usize; 5],
    /// Text expected in the output.
    stdout: &'static [&'static str],
    /// Notes expected on stderr.
    stderr: &'static [&'static str],
}

const SAMPLES: &[Sample] = &[
    Sample {
        file: "l2-basic.yaml",
        counts: [1, 0, 0, 1, 0],
        stdout: &[
            "name: first-pool\n  namespace: ferrolb-system",
            "- 192.168.1.240-192.168.1.250",
        ],
        stderr: &[],
    },
    Sample {
        file: "l2-interfaces-selectors.yaml",
        counts: [1, 0, 0, 1, 0],
        stdout: &[
            "labels:\n    segment: lan",
            "interfaces:\n  - eth0\n  - eth1",
            "avoidBuggyIPs: true",
            "operator: Exists",
        ],
        stderr: &[],
    },
    Sample {
        file: "bgp-communities-bfd.yaml",
        counts: [1, 1, 2, 0, 1],
        stdout: &[
            "communities:\n  - 1234:1\n  - 65535:65282\n  - large:64500:1:2",
            "bfdProfile: fast",
            "receiveInterval: 380",
            "holdTime: 9s",
        ],
        stderr: &["Community \"communities\": FerroLB has no Community kind"],
    },
    Sample {
        file: "multiple-pools-service-allocation.yaml",
        counts: [3, 0, 0, 1, 0],
        stdout: &[
            "priority: 50",
            "namespace-blue",
            "serviceSelectors:",
            "- 192.168.30.10/32",
            "- 192.168.30.20-192.168.30.29",
        ],
        stderr: &["address \"192.168.30.10\" written as \"192.168.30.10/32\""],
    },
    Sample {
        file: "legacy-configmap-bgp.yaml",
        counts: [2, 2, 3, 0, 1],
        stdout: &[
            "name: peer-10-0-0-1",
            "kind: Secret",
            "password: yourPassword",
            "matchExpressions:\n    - key: network-speed",
            "localPref: 100\n  communities:\n  - 65535:65282",
            "name: expensive-bgp",
        ],
        stderr: &[
            "peers[0]: the plain-text password was moved to Secret \"peer-10-0-0-1-bgp-password\"",
        ],
    },
    Sample {
        file: "legacy-configmap-layer2.yaml",
        counts: [2, 0, 0, 2, 0],
        stdout: &["name: default-l2", "name: v6-l2", "- 2001:db8:1::/120"],
        stderr: &[],
    },
    Sample {
        file: "bgp-v1beta1-password-vrf.yaml",
        counts: [1, 1, 1, 0, 0],
        stdout: &[
            "peerPort: 180",
            "passwordSecret:\n    name: border-bgp-password",
            "aggregationLengthV6: 128",
        ],
        stderr: &["vrf \"red\": FerroLB peers only from the default VRF"],
    },
];

#[tokio::test]
async fn metallb_samples_convert_to_valid_objects() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/metallb/");
    for sample in SAMPLES {
        let path = format!("{data}{}", sample.file);
        let out = common::lbctl_offline(&["import", "metallb", "-f", &path], None)
            .await
            .expect_code(0);
        let objects = ClusterObjects::from_yaml_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: {e}", sample.file));
        let errors = validate_objects(&objects);
        assert!(errors.is_empty(), "{}: {errors:?}", sample.file);
        let counts = [
            objects.pools.len(),
            objects.peers.len(),
            objects.bgp_advertisements.len(),
            objects.l2_advertisements.len(),
            objects.bfd_profiles.len(),
        ];
        assert_eq!(counts, sample.counts, "{}:\n{}", sample.file, out.stdout);
        for want in sample.stdout {
            assert!(
                out.stdout.contains(want),
                "{}: {want:?} missing from\n{}",
                sample.file,
                out.stdout
            );
        }
        for want in sample.stderr {
            assert!(
                out.stderr.contains(want),
                "{}: {want:?} missing from\n{}",
                sample.file,
                out.stderr
            );
        }
        if sample.stderr.is_empty() {
            assert_eq!(out.stderr, "", "{}", sample.file);
        }
    }
}

#[tokio::test]
async fn reads_stdin_and_reports_invalid_results() {
    let yaml = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: [192.0.2.0/24]}\n---\n\
                apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: b}\nspec: {addresses: [192.0.2.128/25]}\n";
    let out = common::lbctl_offline(&["import", "metallb", "-f", "-"], Some(yaml))
        .await
        .expect_code(1);
    assert!(out.stdout.contains("name: a") && out.stdout.contains("name: b"));
    out.stderr_has("fail FerroLB's validator");
    out.stderr_has("IPAddressPool \"b\"");

    let out = common::lbctl_offline(&["import", "metallb", "-f", "/nonexistent.yaml"], None)
        .await
        .expect_code(1);
    out.stderr_has("cannot read MetalLB configuration /nonexistent.yaml");
}
