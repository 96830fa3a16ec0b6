//! Check results and how they are printed.

use serde::Serialize;

use crate::output::{Cell, Color};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// This part works.
    Ok,
    /// This part works partly, or looks suspicious.
    Warn,
    /// The path breaks here.
    Fail,
    /// Not checked (not applicable, or nothing to ask).
    Skip,
}

impl Verdict {
    fn label(self) -> Cell {
        match self {
            Verdict::Ok => Cell::colored("ok", Color::Green),
            Verdict::Warn => Cell::colored("warn", Color::Yellow),
            Verdict::Fail => Cell::colored("fail", Color::Red),
            Verdict::Skip => Cell::colored("skip", Color::Dim),
        }
    }
}

/// One step of the path, with what was found and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked (`type`, `class`, `pool`, `router r1 route`, ...).
    pub check: String,
    /// The outcome.
    pub verdict: Verdict,
    /// What was found, in plain words.
    pub reason: String,
    /// What to do next, when something is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn ok(check: impl Into<String>, reason: impl Into<String>) -> Check {
        Check::new(check, Verdict::Ok, reason, None)
    }

    /// A check with any verdict.
    pub fn new(
        check: impl Into<String>,
        verdict: Verdict,
        reason: impl Into<String>,
        hint: Option<String>,
    ) -> Check {
        Check {
            check: check.into(),
            verdict,
            reason: reason.into(),
            hint,
        }
    }

    /// A failed check with a hint.
    pub fn fail(
        check: impl Into<String>,
        reason: impl Into<String>,
        hint: impl Into<String>,
    ) -> Check {
        Check::new(check, Verdict::Fail, reason, Some(hint.into()))
    }

    /// A warning with a hint.
    pub fn warn(
        check: impl Into<String>,
        reason: impl Into<String>,
        hint: impl Into<String>,
    ) -> Check {
        Check::new(check, Verdict::Warn, reason, Some(hint.into()))
    }
}

/// The checks as text: `VERDICT  CHECK  REASON`, aligned, each hint
/// indented on the next line.
pub fn render(title: &str, checks: &[Check], color: bool) -> String {
    let width = checks
        .iter()
        .map(|c| c.check.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!("{title}\n");
    for c in checks {
        let label = c.verdict.label();
        let pad = 5 - label.display(false).len();
        out.push_str(&format!(
            "  {}{}{:<width$}  {}\n",
            label.display(color),
            " ".repeat(pad),
            c.check,
            c.reason
        ));
        if let Some(hint) = &c.hint {
            out.push_str(&format!("  {}  hint: {hint}\n", " ".repeat(5 + width)));
        }
    }
    let fails = checks.iter().filter(|c| c.verdict == Verdict::Fail).count();
    let warns = checks.iter().filter(|c| c.verdict == Verdict::Warn).count();
    out.push_str(&match (fails, warns) {
        (0, 0) => "Result: every check passed.\n".to_owned(),
        (0, w) => format!("Result: works, with {w} warning(s).\n"),
        (f, _) => {
            let first = checks.iter().find(|c| c.verdict == Verdict::Fail);
            format!(
                "Result: broken at \"{}\" ({f} failed check(s)).\n",
                first.map_or("", |c| c.check.as_str())
            )
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_aligned_with_hints() {
        let checks = [
            Check::ok("type", "LoadBalancer"),
            Check::fail("allocation", "no address", "lbctl pools list"),
        ];
        assert_eq!(
            render("Service web/front", &checks, false),
            "Service web/front\n  ok   type        LoadBalancer\n  fail allocation  no address\n\
             \x20                  hint: lbctl pools list\nResult: broken at \"allocation\" (1 failed check(s)).\n"
        );
    }
}
