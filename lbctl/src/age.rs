//! Ages as kubectl prints them (`45s`, `12m`, `3h`, `5d`).

use k8s_openapi::jiff::Timestamp;

/// A duration in seconds, in its largest whole unit.
pub fn seconds(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// The age of an RFC 3339 time at `now`; `-` when unknown.
pub fn age(since: Option<&str>, now: &str) -> String {
    let parse = |s: &str| s.parse::<Timestamp>().ok();
    match (since.and_then(parse), parse(now)) {
        (Some(since), Some(now)) => {
            seconds(u64::try_from(now.as_second() - since.as_second()).unwrap_or(0))
        }
        _ => "-".to_owned(),
    }
}

/// The current time, RFC 3339.
pub fn now() -> String {
    Timestamp::now().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        let now = "2026-11-22T07:00:00Z";
        let table: &[(Option<&str>, &str)] = &[
            (Some("2026-11-22T06:59:15Z"), "45s"),
            (Some("2026-11-22T06:30:00Z"), "30m"),
            (Some("2026-11-22T04:00:00Z"), "3h"),
            (Some("2026-11-17T07:00:00Z"), "5d"),
            (Some("2026-11-22T07:00:10Z"), "0s"),
            (Some("garbage"), "-"),
            (None, "-"),
        ];
        for &(since, want) in table {
            assert_eq!(age(since, now), want, "{since:?}");
        }
    }
}
