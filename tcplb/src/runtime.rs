//! The tokio runtime the load balancer is tuned for, used by `ferrolb-router` and by the
//! benchmark so that both measure the same thing.

/// A multi-threaded runtime (one worker per CPU) that looks at its shared queue on every
/// scheduling tick.
///
/// A burst of readiness events can overflow a worker's local queue (256 tasks) into the shared
/// one. By default a worker looks there only every 31 ticks, so the connections parked there
/// wait behind everything woken after them: with 9,700 busy connections that doubled the p99
/// request latency against HAProxy's (`tcplb-bench`); looking every tick brought it below.
pub fn runtime_builder() -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().global_queue_interval(1);
    builder
}
