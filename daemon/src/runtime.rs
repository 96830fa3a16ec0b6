//! The tokio runtime of the router (BGP, forwarding and the TCP load balancer in one process),
//! also used by the benchmarks that stand in for it so that they measure the same thing.

/// A multi-threaded runtime (one worker per CPU) that looks at its shared queue on every
/// scheduling tick.
///
/// A burst of readiness events can overflow a worker's local queue (256 tasks) into the shared
/// one. By default a worker looks there only every 31 ticks, so the tasks parked there wait
/// behind everything woken after them: with 9,700 busy load-balanced connections that doubled
/// the p99 request latency against HAProxy's (`tcplb-bench`); looking every tick brought it
/// below.
pub fn builder() -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().global_queue_interval(1);
    builder
}

/// Runs `main` to completion on a runtime from [`builder`]; fails only if the runtime cannot
/// start.
pub fn block_on<F: std::future::Future>(main: F) -> std::io::Result<F::Output> {
    Ok(builder().build()?.block_on(main))
}
