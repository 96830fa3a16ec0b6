//! What the demo's end-to-end tests share: where the daemons are.

use std::path::PathBuf;

use ferrolb_demo::{Options, Programs};

const BUILD: &str =
    "cargo build --bin ferrolb-controller --bin ferrolb-speaker --bin ferrolb-router --bin lbctl";

/// Options for one run named `tag`, sending `requests` per Service, with the daemons built
/// next to this test's `ferrolb-demo` binary.
pub fn options(tag: &str, requests: usize) -> Options {
    let demo = PathBuf::from(env!("CARGO_BIN_EXE_ferrolb-demo"));
    let dir = demo.parent().unwrap().to_path_buf();
    let programs = Programs::in_dir(&dir, demo).unwrap_or_else(|e| {
        panic!(
            "{e}\nthis test runs the daemons from {}: `{BUILD}`",
            dir.display()
        )
    });
    let dir = std::env::temp_dir().join(format!("ferrolb-demo-test-{}-{tag}", std::process::id()));
    Options {
        programs,
        dir,
        requests,
        keep: false,
    }
}
