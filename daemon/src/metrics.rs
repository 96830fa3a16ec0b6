//! The process-wide metrics registry, exposed in OpenMetrics text format.

use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Metric, Registry, Unit};

/// Prefix of every FerroLB metric name.
pub const PREFIX: &str = "ferrolb";

/// Content type of [`MetricsRegistry::encode`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why metrics could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A metric failed to write itself out.
    #[error("encoding metrics failed")]
    Encode(#[from] std::fmt::Error),
}

/// Labels of `ferrolb_build_info`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BuildInfoLabels {
    program: String,
    version: String,
}

/// One metric to register with [`MetricsRegistry::register_all`] or
/// [`register_all`]: its name (without prefix), help text, unit and handle.
#[derive(Debug)]
pub struct MetricDef {
    name: &'static str,
    help: &'static str,
    unit: Option<Unit>,
    metric: Box<dyn Metric>,
}

impl MetricDef {
    /// `metric` as `<prefix>_<name>` (counters get `_total`).
    pub fn new(name: &'static str, help: &'static str, metric: impl Metric) -> Self {
        MetricDef {
            name,
            help,
            unit: None,
            metric: Box::new(metric),
        }
    }

    /// The same metric named `<prefix>_<name>_<unit>`, with a `# UNIT` line.
    pub fn unit(self, unit: Unit) -> Self {
        MetricDef {
            unit: Some(unit),
            ..self
        }
    }
}

/// A boxed metric, encoded as the metric it holds.
#[derive(Debug)]
struct Boxed(Box<dyn Metric>);

impl EncodeMetric for Boxed {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Registers every one of `metrics` in `registry` (a sub-registry, say),
/// in order.
pub fn register_all(registry: &mut Registry, metrics: impl IntoIterator<Item = MetricDef>) {
    for m in metrics {
        let metric = Boxed(m.metric);
        match m.unit {
            Some(unit) => registry.register_with_unit(m.name, m.help, unit, metric),
            None => registry.register(m.name, m.help, metric),
        }
    }
}

/// A shared metrics registry; clones refer to the same registry.
///
/// Every metric is registered under the `ferrolb_` prefix, so
/// `register("sessions", ..)` is exposed as `ferrolb_sessions`.
#[derive(Clone)]
pub struct MetricsRegistry {
    inner: Arc<Mutex<Registry>>,
}

impl Default for MetricsRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsRegistry").finish_non_exhaustive()
    }
}

impl MetricsRegistry {
    /// Creates an empty registry with the `ferrolb` prefix.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Registry::with_prefix(PREFIX))),
        }
    }

    /// Registers `metric` as `ferrolb_<name>`. Keep the handle (metrics are
    /// cheaply cloneable) to update it.
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.lock().register(name, help, metric);
    }

    /// Registers `metric` as `ferrolb_<name>_<unit>`.
    pub fn register_with_unit(&self, name: &str, help: &str, unit: Unit, metric: impl Metric) {
        self.lock().register_with_unit(name, help, unit, metric);
    }

    /// Registers every one of `metrics` as `ferrolb_<name>[_<unit>]`, in
    /// order: a table of a component's metrics in place of one call each.
    pub fn register_all(&self, metrics: impl IntoIterator<Item = MetricDef>) {
        register_all(&mut self.lock(), metrics);
    }

    /// Runs `f` on a sub-registry whose metrics are named
    /// `ferrolb_<prefix>_<name>`, e.g. `with_sub_registry("bgp", ..)`.
    pub fn with_sub_registry<T>(&self, prefix: &str, f: impl FnOnce(&mut Registry) -> T) -> T {
        f(self.lock().sub_registry_with_prefix(prefix))
    }

    /// Registers `ferrolb_build_info{program,version} 1`. Call once per
    /// process (a metric name may appear only once in an exposition).
    pub fn register_build_info(&self, program: &str, version: &str) {
        let family = Family::<BuildInfoLabels, Gauge>::default();
        family
            .get_or_create(&BuildInfoLabels {
                program: program.to_owned(),
                version: version.to_owned(),
            })
            .set(1);
        self.register(
            "build_info",
            "FerroLB build information; the value is always 1",
            family,
        );
    }

    /// Encodes every registered metric in the OpenMetrics text format
    /// (ending with `# EOF`).
    pub fn encode(&self) -> Result<String, MetricsError> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.lock())?;
        Ok(out)
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // Poisoning means a panic happened while registering; the registry
        // itself is still consistent, so keep serving it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;

    #[test]
    fn build_info_is_exposed_with_prefix_and_labels() {
        let registry = MetricsRegistry::new();
        registry.register_build_info("ferrolb-router", "1.2.3");
        let text = registry.encode().unwrap();
        assert!(text.contains("# TYPE ferrolb_build_info gauge\n"), "{text}");
        assert!(
            text.contains("ferrolb_build_info{program=\"ferrolb-router\",version=\"1.2.3\"} 1\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn clones_share_one_registry() {
        let registry = MetricsRegistry::new();
        let clone = registry.clone();
        let counter = Counter::<u64>::default();
        clone.register("updates", "BGP UPDATEs received", counter.clone());
        counter.inc_by(3);
        let gauge = Gauge::<i64>::default();
        registry.with_sub_registry("bgp", |r| {
            r.register("sessions", "Established sessions", gauge.clone())
        });
        gauge.set(2);
        registry.register_with_unit("uptime", "Uptime", Unit::Seconds, Gauge::<i64>::default());
        let text = registry.encode().unwrap();
        assert!(text.contains("ferrolb_updates_total 3\n"), "{text}");
        assert!(text.contains("ferrolb_bgp_sessions 2\n"), "{text}");
        assert!(
            text.contains("# UNIT ferrolb_uptime_seconds seconds\n"),
            "{text}"
        );
    }

    #[test]
    fn register_all_names_each_metric_with_its_unit() {
        let registry = MetricsRegistry::new();
        let counter = Counter::<u64>::default();
        let gauge = Gauge::<i64>::default();
        let labelled = Family::<BuildInfoLabels, Gauge>::default();
        registry.register_all([
            MetricDef::new("updates", "Updates received", counter.clone()),
            MetricDef::new("received", "Bytes received", gauge.clone()).unit(Unit::Bytes),
            MetricDef::new("labelled", "A family", labelled.clone()),
        ]);
        counter.inc_by(2);
        gauge.set(7);
        labelled
            .get_or_create(&BuildInfoLabels {
                program: "p".into(),
                version: "v".into(),
            })
            .set(1);
        let text = registry.encode().unwrap();
        for line in [
            "# HELP ferrolb_updates Updates received.\n",
            "# TYPE ferrolb_updates counter\n",
            "ferrolb_updates_total 2\n",
            "# UNIT ferrolb_received_bytes bytes\n",
            "# TYPE ferrolb_received_bytes gauge\n",
            "ferrolb_received_bytes 7\n",
            "ferrolb_labelled{program=\"p\",version=\"v\"} 1\n",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
        // A sub-registry gets its prefix too.
        let mut sub = Registry::with_prefix("lb");
        register_all(
            &mut sub,
            [MetricDef::new("up", "Up", Gauge::<i64>::default())],
        );
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &sub).unwrap();
        assert!(out.contains("lb_up 0\n"), "{out}");
    }

    #[test]
    fn empty_registry_is_valid_openmetrics() {
        assert_eq!(MetricsRegistry::new().encode().unwrap(), "# EOF\n");
    }
}
