//! The benchmark harness, checked end to end with tiny loads: FerroLB and BIRD as devices under
//! test in real namespaces, real sessions, real UPDATEs. Not a timing test: it asserts that the
//! monitor ends up with exactly the prefixes the injectors sent, that nothing else leaked in, and
//! that the injectors were sent nothing (their configured role), so the numbers `bgp-bench`
//! reports rest on a harness that counts right.

use std::path::PathBuf;
use std::time::Duration;

use ferrolb_bench::dut::DutKind;
use ferrolb_bench::run::{run, Outcome, RunConfig};
use ferrolb_bench::scenario::Scenario;

fn config(scenario: &str, dut: DutKind) -> RunConfig {
    RunConfig {
        scenario: scenario.parse().unwrap(),
        dut,
        routeserver: PathBuf::from(env!("CARGO_BIN_EXE_ferrolb-routeserver")),
        timeout: Duration::from_secs(60),
        frr_zebra: false,
        transparent: false,
    }
}

fn check(scenario: &str, dut: DutKind) {
    let config = config(scenario, dut);
    let result = run(&config);
    let n = config.scenario.prefixes;
    assert!(
        matches!(result.outcome, Outcome::Converged { .. }),
        "{scenario} / {dut}: {:?}",
        result.outcome
    );
    assert_eq!(result.monitor_held, n, "{scenario} / {dut}");
    assert_eq!(result.monitor_foreign, 0, "{scenario} / {dut}");
    assert_eq!(result.injectors_received, 0, "{scenario} / {dut}");
    // Every path's best route reached the monitor at least once.
    assert!(result.monitor_announcements >= u64::from(n));
    let memory = result.memory.expect("the DUT's memory was read");
    assert!(memory.end.peak >= memory.baseline.now && memory.baseline.now > 0);
    assert!(result.rate().is_some_and(|r| r > 0.0));
    assert_eq!(
        result.updates_per_injector,
        usize::try_from(n)
            .unwrap()
            .div_ceil(result.prefixes_per_update.1)
    );
    assert!(
        result.prefixes_per_update.1 > 900,
        "{:?}",
        result.prefixes_per_update
    );
}

#[test]
fn netns_ferrolb_passes_every_prefix_to_the_monitor() {
    check("1x2000/24", DutKind::Ferrolb);
    check("3x2000/24", DutKind::Ferrolb);
}

#[test]
fn netns_bird_passes_every_prefix_to_the_monitor() {
    check("1x2000/24", DutKind::Bird);
    check("3x2000/24", DutKind::Bird);
}

#[test]
fn a_scenario_is_what_the_harness_sends() {
    // The smoke runs above use these; a typo would silently test something else.
    assert_eq!(
        "3x2000/24".parse::<Scenario>().unwrap(),
        Scenario::new(3, 2000, 24)
    );
}
