//! The summary table the demo ends with.

use std::time::Duration;

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It worked; the detail says what was seen.
    Ok(String),
    /// It did not; the reason says why.
    Failed(String),
    /// It did not run because an earlier step failed or the demo was
    /// interrupted.
    Skipped,
}

/// One step of the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What the step shows.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took.
    pub took: Duration,
}

impl Step {
    /// Whether it worked.
    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, Outcome::Ok(_))
    }
}

/// The table: step, result, time, detail.
pub fn render(steps: &[Step]) -> String {
    let width = steps
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:<width$}  {:<7} {:>7}  DETAIL\n",
        "STEP", "RESULT", "TIME"
    );
    for step in steps {
        let (result, detail) = match &step.outcome {
            Outcome::Ok(detail) => ("ok", detail.as_str()),
            Outcome::Failed(reason) => ("FAIL", reason.as_str()),
            Outcome::Skipped => ("skipped", ""),
        };
        let time = format!("{:.1}s", step.took.as_secs_f64());
        out.push_str(&format!(
            "{:<width$}  {result:<7} {time:>7}  {detail}\n",
            step.name
        ));
    }
    let failed = steps.iter().filter(|s| !s.is_ok()).count();
    if failed == 0 {
        out.push_str(&format!("every step ok ({} steps)\n", steps.len()));
    } else {
        out.push_str(&format!("{failed} of {} steps did not pass\n", steps.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, outcome: Outcome, ms: u64) -> Step {
        Step {
            name: name.into(),
            outcome,
            took: Duration::from_millis(ms),
        }
    }

    #[test]
    fn table_lines_up_and_counts_failures() {
        let steps = [
            step("IPs assigned", Outcome::Ok("3 Services".into()), 1240),
            step("BGP sessions up", Outcome::Failed("2 of 6".into()), 30_000),
            step("node killed", Outcome::Skipped, 0),
        ];
        let table = render(&steps);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "STEP             RESULT     TIME  DETAIL");
        assert_eq!(lines[1], "IPs assigned     ok         1.2s  3 Services");
        assert_eq!(lines[2], "BGP sessions up  FAIL      30.0s  2 of 6");
        assert_eq!(lines[3].trim_end(), "node killed      skipped    0.0s");
        assert_eq!(lines[4], "2 of 3 steps did not pass");
        let all_ok = render(&steps[..1]);
        assert!(all_ok.ends_with("every step ok (1 steps)\n"), "{all_ok}");
    }
}
