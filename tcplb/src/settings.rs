//! A frontend's settings as the data path uses them, replaced whole on reload.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ferrolb_api::router_config::{Algorithm, Frontend};

use crate::check::Probe;
use crate::forward::Timeouts;
use crate::Error;

/// Everything about a frontend except its listen addresses and backends.
#[derive(Debug)]
pub(crate) struct Settings {
    pub algorithm: Algorithm,
    pub max_connections: Option<u32>,
    pub backend_max_connections: Option<u32>,
    pub connect_timeout: Duration,
    pub timeouts: Timeouts,
    pub probe: Probe,
    pub check_interval: Duration,
    pub rise: u32,
    pub fall: u32,
    pub slow_start: Option<Duration>,
    pub proxy_protocol: bool,
    pub access_log: bool,
}

impl Settings {
    pub fn new(f: &Frontend) -> Result<Settings, Error> {
        Ok(Settings {
            algorithm: f.algorithm,
            max_connections: f.max_connections,
            backend_max_connections: f.backend_max_connections,
            connect_timeout: f.timeouts.connect.as_std(),
            timeouts: Timeouts {
                idle: f.timeouts.idle.as_std(),
                client: f.timeouts.client.as_std(),
            },
            probe: Probe::new(&f.health_check)?,
            check_interval: f
                .health_check
                .interval
                .as_std()
                .max(Duration::from_millis(10)),
            rise: f.health_check.rise,
            fall: f.health_check.fall,
            slow_start: f.slow_start.map(|d| d.as_std()),
            proxy_protocol: f.proxy_protocol,
            access_log: f.access_log,
        })
    }
}

/// Shared, swappable settings: connections and checks read the current value each time.
#[derive(Debug, Clone)]
pub(crate) struct SettingsCell(Arc<RwLock<Arc<Settings>>>);

impl SettingsCell {
    pub fn new(settings: Settings) -> SettingsCell {
        SettingsCell(Arc::new(RwLock::new(Arc::new(settings))))
    }

    pub fn get(&self) -> Arc<Settings> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set(&self, settings: Settings) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings);
    }
}
