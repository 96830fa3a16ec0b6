//! The Debian package `cargo deb -p ferrolb-router` builds (metadata in this crate's
//! Cargo.toml): it installs the binary, the systemd unit and an example configuration, and
//! nothing else. cargo-deb itself is not needed to check that the metadata is right: every
//! asset exists, the unit starts the installed binary, and the example configuration is one
//! the router accepts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn deb_metadata() -> toml::Table {
    let text = std::fs::read_to_string(crate_dir().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = text.parse().unwrap();
    manifest["package"]["metadata"]["deb"]
        .as_table()
        .expect("[package.metadata.deb]")
        .clone()
}

/// `(source, destination, mode)` of every asset.
fn assets(deb: &toml::Table) -> Vec<(String, String, String)> {
    deb["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| {
            let a = a
                .as_array()
                .expect("an asset is [source, destination, mode]");
            let text = |i: usize| a[i].as_str().unwrap().to_owned();
            (text(0), text(1), text(2))
        })
        .collect()
}

#[test]
fn the_deb_installs_the_binary_the_unit_and_an_example_configuration() {
    let deb = deb_metadata();
    let assets = assets(&deb);
    let destinations: BTreeSet<&str> = assets.iter().map(|(_, d, _)| d.as_str()).collect();
    assert_eq!(
        destinations,
        BTreeSet::from([
            "usr/bin/",
            "lib/systemd/system/",
            "usr/share/doc/ferrolb-router/examples/router.yaml",
            "usr/share/doc/ferrolb-router/examples/README.md",
        ])
    );
    // Creates nothing else: no maintainer scripts, no enabled units, no users.
    for key in ["maintainer-scripts", "systemd-units", "conf-files"] {
        assert!(!deb.contains_key(key), "unexpected {key}");
    }
    for (source, destination, mode) in &assets {
        if let Some(binary) = source.strip_prefix("target/release/") {
            assert_eq!(binary, "ferrolb-router");
            assert_eq!((destination.as_str(), mode.as_str()), ("usr/bin/", "755"));
        } else {
            assert!(crate_dir().join(source).is_file(), "{source} missing");
            assert_eq!(mode, "644", "{source}");
        }
    }
    let license = deb["license-file"].as_array().unwrap()[0].as_str().unwrap();
    assert!(crate_dir().join(license).is_file());
}

#[test]
fn the_packaged_unit_and_example_configuration_work_together() {
    let deb = deb_metadata();
    let assets = assets(&deb);
    let source_of = |destination: &str| {
        let (source, _, _) = assets
            .iter()
            .find(|(_, d, _)| d == destination)
            .unwrap_or_else(|| panic!("no asset installed at {destination}"));
        crate_dir().join(source)
    };
    let unit = std::fs::read_to_string(source_of("lib/systemd/system/")).unwrap();
    let exec_start = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    assert!(
        exec_start.starts_with("/usr/bin/ferrolb-router "),
        "the unit starts {exec_start}, not the packaged binary"
    );

    // The example the package ships is accepted by the router's own check.
    let example = source_of("usr/share/doc/ferrolb-router/examples/router.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_ferrolb-router"))
        .args(["--check-config", "--config"])
        .arg(Path::new(&example))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        example.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
