//! Aligned text tables, as `kubectl get` prints them.

/// A terminal color for a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// Good.
    Green,
    /// Worth a look.
    Yellow,
    /// Broken.
    Red,
    /// Less important.
    Dim,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Green => "32",
            Color::Yellow => "33",
            Color::Red => "31",
            Color::Dim => "2",
        }
    }
}

/// One table cell: text with an optional color.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    text: String,
    color: Option<Color>,
}

impl Cell {
    /// Uncolored text.
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            color: None,
        }
    }

    /// Colored text.
    pub fn colored(text: impl Into<String>, color: Color) -> Cell {
        Cell {
            text: text.into(),
            color: Some(color),
        }
    }

    fn width(&self) -> usize {
        self.text.chars().count()
    }

    /// The text, wrapped in ANSI escapes when `color` is on.
    pub fn display(&self, color: bool) -> String {
        match (self.color, color) {
            (Some(c), true) => format!("\x1b[{}m{}\x1b[0m", c.code(), self.text),
            _ => self.text.clone(),
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::plain(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::plain(text)
    }
}

/// A table whose columns may be shown only in `-o wide`.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<(&'static str, bool)>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with these always-shown columns.
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h, false)).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds columns shown only with `-o wide`; they come after the others.
    pub fn wide(mut self, headers: &[&'static str]) -> Table {
        self.headers.extend(headers.iter().map(|h| (*h, true)));
        self
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// The table as text: columns separated by three spaces, padded to the
    /// widest cell, no trailing spaces.
    pub fn render(&self, wide: bool, color: bool) -> String {
        let shown: Vec<usize> = (0..self.headers.len())
            .filter(|&i| wide || !self.headers[i].1)
            .collect();
        let blank = Cell::plain("");
        let cell = |row: &[Cell], i: usize| -> Cell { row.get(i).unwrap_or(&blank).clone() };
        let widths: Vec<usize> = shown
            .iter()
            .map(|&i| {
                self.rows
                    .iter()
                    .map(|r| cell(r, i).width())
                    .chain([self.headers[i].0.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header_row: Vec<Cell> = self.headers.iter().map(|h| Cell::plain(h.0)).collect();
        let mut out = String::new();
        for row in std::iter::once(&header_row).chain(&self.rows) {
            let mut line = String::new();
            for (n, (&i, width)) in shown.iter().zip(&widths).enumerate() {
                let c = cell(row, i);
                line.push_str(&c.display(color));
                if n + 1 < shown.len() {
                    line.push_str(&" ".repeat(width - c.width() + 3));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `used/total` with a ten-character bar and a percentage, e.g.
/// `3/16 ██░░░░░░░░ 19%`; `-` for an empty family.
pub fn usage_bar(used: u128, total: u128) -> String {
    if total == 0 {
        return "-".to_owned();
    }
    let used_shown = used.min(total);
    // Round up so that any use at all shows at least one block.
    let filled = (used_shown * 10).div_ceil(total) as usize;
    let percent = (used_shown * 100 + total / 2) / total;
    format!(
        "{used}/{total} {}{} {percent}%",
        "█".repeat(filled),
        "░".repeat(10 - filled)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_wide_columns_hide() {
        let mut t = Table::new(&["NAME", "IPS"]).wide(&["CLASS"]);
        t.row(vec!["web".into(), "192.0.2.10".into(), "ferrolb".into()]);
        t.row(vec!["a-longer-name".into(), "-".into()]);
        assert_eq!(
            t.render(false, false),
            "NAME            IPS\nweb             192.0.2.10\na-longer-name   -\n"
        );
        assert_eq!(
            t.render(true, false),
            "NAME            IPS          CLASS\nweb             192.0.2.10   ferrolb\na-longer-name   -\n"
        );
    }

    #[test]
    fn colors_do_not_change_alignment() {
        let mut t = Table::new(&["STATE", "X"]);
        t.row(vec![Cell::colored("up", Color::Green), "1".into()]);
        assert_eq!(
            t.render(false, true),
            "STATE   X\n\x1b[32mup\x1b[0m      1\n"
        );
    }

    #[test]
    fn usage_bars() {
        let table: &[(u128, u128, &str)] = &[
            (0, 16, "0/16 ░░░░░░░░░░ 0%"),
            (3, 16, "3/16 ██░░░░░░░░ 19%"),
            (1, 1000, "1/1000 █░░░░░░░░░ 0%"),
            (16, 16, "16/16 ██████████ 100%"),
            (0, 0, "-"),
        ];
        for &(used, total, want) in table {
            assert_eq!(usage_bar(used, total), want);
        }
    }
}
