//! How results are printed: aligned tables (plain or `wide`), JSON or YAML,
//! with color only when it helps and the user has not turned it off.

mod table;

pub use table::{usage_bar, Cell, Color, Table};

use std::io::IsTerminal;

use clap::ValueEnum;
use serde::Serialize;

/// `-o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// An aligned table (the default).
    #[default]
    Table,
    /// The table with extra columns.
    Wide,
    /// JSON, for scripts.
    Json,
    /// YAML, for scripts and humans.
    Yaml,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// Color when writing to a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always color, even when `NO_COLOR` is set.
    Always,
    /// Never color.
    Never,
}

/// Whether to color: an explicit choice wins; `auto` colors a terminal
/// unless `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
pub fn color_enabled(choice: ColorChoice, no_color_env: Option<&str>, is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_tty && no_color_env.is_none_or(str::is_empty),
    }
}

/// Where and how to print.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// The output format.
    pub format: Format,
    /// Whether tables are colored.
    pub color: bool,
}

impl Printer {
    /// A printer for `format`, coloring per `choice`, `NO_COLOR` and stdout.
    pub fn new(format: Format, choice: ColorChoice) -> Printer {
        let env = std::env::var("NO_COLOR").ok();
        Printer {
            format,
            color: color_enabled(choice, env.as_deref(), std::io::stdout().is_terminal()),
        }
    }

    /// Prints `data` as JSON/YAML, or `table` otherwise.
    pub fn print<T: Serialize>(
        &self,
        data: &T,
        table: impl FnOnce() -> Table,
    ) -> anyhow::Result<()> {
        self.print_with(data, |wide, color| table().render(wide, color))
    }

    /// Prints `data` as JSON/YAML, or the text `text(wide, color)` returns.
    pub fn print_with<T: Serialize>(
        &self,
        data: &T,
        text: impl FnOnce(bool, bool) -> String,
    ) -> anyhow::Result<()> {
        print!("{}", self.render(data, text)?);
        Ok(())
    }

    /// What [`Printer::print_with`] prints.
    pub fn render<T: Serialize>(
        &self,
        data: &T,
        text: impl FnOnce(bool, bool) -> String,
    ) -> anyhow::Result<String> {
        Ok(match self.format {
            Format::Json => format!("{}\n", serde_json::to_string_pretty(data)?),
            Format::Yaml => serde_yaml::to_string(data)?,
            Format::Table => text(false, self.color),
            Format::Wide => text(true, self.color),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_follows_choice_no_color_and_terminal() {
        let table: &[(ColorChoice, Option<&str>, bool, bool)] = &[
            (ColorChoice::Auto, None, true, true),
            (ColorChoice::Auto, None, false, false),
            (ColorChoice::Auto, Some("1"), true, false),
            (ColorChoice::Auto, Some(""), true, true),
            (ColorChoice::Always, Some("1"), false, true),
            (ColorChoice::Never, None, true, false),
        ];
        for &(choice, env, tty, want) in table {
            assert_eq!(
                color_enabled(choice, env, tty),
                want,
                "{choice:?} {env:?} {tty}"
            );
        }
    }
}
