//! The state file of a running demo: which namespaces and processes are
//! its own, so that `lbctl demo down` can remove a demo left up with
//! `--keep` (or one that was killed before it could clean up).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where `scripts/demo.sh` keeps the demo's files.
pub const DEFAULT_DIR: &str = "/run/ferrolb-demo";
/// The state file's name inside the demo's directory.
pub const FILE_NAME: &str = "state.json";

/// What a running demo is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoState {
    /// The demo process (it holds the in-process API server); SIGTERM
    /// makes it remove everything.
    pub pid: u32,
    /// The demo's directory (configs, logs, sockets, kubeconfig).
    pub dir: PathBuf,
    /// Network namespaces by role (`api`, `node-1`, `router-1`, `client`, ...).
    pub namespaces: BTreeMap<String, String>,
    /// Processes the demo started, by label.
    pub processes: BTreeMap<String, u32>,
    /// Kubeconfig of the fake API server (reachable from the `api` namespace).
    pub kubeconfig: PathBuf,
    /// Router admin APIs by router name (`unix:` URLs lbctl takes).
    pub routers: BTreeMap<String, String>,
}

impl DemoState {
    /// The state file in `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Writes the state file atomically (write, then rename).
    pub fn write(&self) -> Result<()> {
        let path = DemoState::path_in(&self.dir);
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Format(format!("state file: {e}")))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n")
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }

    /// Reads the state file in `dir`, if there is one.
    pub fn read(dir: &Path) -> Result<Option<DemoState>> {
        let path = DemoState::path_in(dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Error::Format(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }
}

/// The state file of this process's demo; removed (with the demo's other
/// generated files, logs excepted) on drop.
#[derive(Debug)]
pub struct StateFile {
    /// What it says.
    pub state: DemoState,
}

impl StateFile {
    /// Writes the first version of the state file.
    pub fn create(state: DemoState) -> Result<StateFile> {
        state.write()?;
        Ok(StateFile { state })
    }

    /// The demo's directory.
    pub fn dir(&self) -> &Path {
        &self.state.dir
    }

    /// Records the running processes and rewrites the file.
    pub fn record(&mut self, processes: BTreeMap<String, u32>) -> Result<()> {
        self.state.processes = processes;
        self.state.write()
    }
}

impl Drop for StateFile {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(&self.state.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") || path.is_dir() {
                continue;
            }
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "removing a demo file");
            }
        }
    }
}

/// Whether process `pid` exists.
pub fn alive(pid: u32) -> bool {
    pid != 0 && Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_file_in_the_format_lbctl_reads() {
        let dir = std::env::temp_dir().join(format!("ferrolb-demo-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(DemoState::read(&dir).unwrap(), None);
        let state = DemoState {
            pid: 42,
            dir: dir.clone(),
            namespaces: [("api".to_owned(), "flb-42-0-api".to_owned())].into(),
            processes: [("speaker node-1".to_owned(), 43)].into(),
            kubeconfig: dir.join("kubeconfig"),
            routers: [("router-1".to_owned(), "unix:/x.sock".to_owned())].into(),
        };
        state.write().unwrap();
        assert_eq!(DemoState::read(&dir).unwrap(), Some(state));
        let raw: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(DemoState::path_in(&dir)).unwrap())
                .unwrap();
        assert_eq!(raw["pid"], 42);
        assert_eq!(raw["namespaces"]["api"], "flb-42-0-api");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
