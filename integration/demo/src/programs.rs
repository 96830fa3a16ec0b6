//! The programs the demo runs: FerroLB's daemons from one Cargo target
//! directory, and a program that serves the stand-in pods and API servers.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Paths of the executables the demo starts.
#[derive(Debug, Clone)]
pub struct Programs {
    /// `ferrolb-controller`.
    pub controller: PathBuf,
    /// `ferrolb-speaker`.
    pub speaker: PathBuf,
    /// `ferrolb-router`.
    pub router: PathBuf,
    /// `lbctl`, if built (only used in the `--keep` instructions).
    pub lbctl: Option<PathBuf>,
    /// A `ferrolb-demo` executable: runs `serve` for the stand-in servers.
    pub standin: PathBuf,
}

impl Programs {
    /// The daemons in `dir` (e.g. `target/release`), with `standin` serving
    /// the stand-ins. A missing daemon is an error naming the command that
    /// builds it in `profile` (`release` or `debug`).
    pub fn in_dir(dir: &Path, standin: PathBuf) -> Result<Programs> {
        let profile = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let find = |program: &str| -> Result<PathBuf> {
            let path = dir.join(program);
            if path.is_file() {
                Ok(path)
            } else {
                Err(Error::MissingProgram {
                    program: program.to_owned(),
                    path,
                    build: build_command(&profile, program),
                })
            }
        };
        let lbctl = dir.join("lbctl");
        Ok(Programs {
            controller: find("ferrolb-controller")?,
            speaker: find("ferrolb-speaker")?,
            router: find("ferrolb-router")?,
            lbctl: lbctl.is_file().then_some(lbctl),
            standin: find_standin(standin)?,
        })
    }

    /// The daemons next to the running executable (how `scripts/demo.sh`
    /// runs the demo: everything built into one target directory).
    pub fn beside_current_exe() -> Result<Programs> {
        let exe = std::env::current_exe().map_err(|e| Error::io("finding this program", e))?;
        let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
        Programs::in_dir(&dir, exe)
    }
}

fn find_standin(path: PathBuf) -> Result<PathBuf> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::MissingProgram {
            program: "ferrolb-demo".to_owned(),
            build: build_command("debug", "ferrolb-demo"),
            path,
        })
    }
}

/// `cargo build [--release] --bin <program>`.
pub fn build_command(profile: &str, program: &str) -> String {
    let release = if profile == "release" {
        " --release"
    } else {
        ""
    };
    format!("cargo build{release} --bin {program}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_commands_follow_the_profile() {
        let cases = [
            (
                "release",
                "ferrolb-router",
                "cargo build --release --bin ferrolb-router",
            ),
            (
                "debug",
                "ferrolb-speaker",
                "cargo build --bin ferrolb-speaker",
            ),
            ("", "lbctl", "cargo build --bin lbctl"),
        ];
        for (profile, program, want) in cases {
            assert_eq!(build_command(profile, program), want);
        }
    }

    #[test]
    fn a_missing_daemon_names_the_build_command() {
        let dir =
            std::env::temp_dir().join(format!("ferrolb-demo-programs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("release")).unwrap();
        let err = Programs::in_dir(&dir.join("release"), PathBuf::from("/bin/sh")).unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        let text = err.to_string();
        assert!(
            text.contains("ferrolb-controller not found")
                && text.contains("cargo build --release --bin ferrolb-controller"),
            "{text}"
        );
    }
}
