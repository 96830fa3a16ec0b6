//! Logging set-up is once per process; this file is its own test process.

use ferrolb_daemon::logging::{self, LogArgs, LogFormat, LoggingError};

#[test]
fn invalid_filter_then_init_once() {
    let bad = LogArgs {
        format: LogFormat::Json,
        filter: "ferrolb=loud".into(),
    };
    let err = logging::init(&bad).unwrap_err();
    assert!(matches!(err, LoggingError::InvalidFilter { .. }), "{err}");
    assert!(err.to_string().contains("ferrolb=loud"), "{err}");

    // The rejected filter installed nothing, so this succeeds...
    logging::init(&LogArgs::default()).unwrap();
    tracing::info!("logging initialised");
    // ...and a second installation is an error, not a panic.
    let again = logging::init(&LogArgs::default()).unwrap_err();
    assert!(matches!(again, LoggingError::AlreadyInitialized), "{again}");
}
