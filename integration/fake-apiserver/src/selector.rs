//! `labelSelector` and `fieldSelector` query parameters: parsing and matching.

use serde_json::{Map, Value};

use crate::validation::{check_label_key, check_label_value};

/// A label selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelOp {
    /// `key=value` / `key==value`
    Equals,
    /// `key!=value` (also matches objects without the key)
    NotEquals,
    /// `key in (a,b)`
    In,
    /// `key notin (a,b)` (also matches objects without the key)
    NotIn,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>n` (integer comparison)
    GreaterThan,
    /// `key<n` (integer comparison)
    LessThan,
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRequirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub op: LabelOp,
    /// Operand values (empty for existence operators).
    pub values: Vec<String>,
}

/// A parsed label selector; all requirements must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// The requirements, in the order written.
    pub requirements: Vec<LabelRequirement>,
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

fn is_ident_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, ',' | '(' | ')' | '=' | '!' | '<' | '>')
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }
    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
        self.pos += end;
        rest.get(..end).unwrap_or("")
    }
    /// Consumes a keyword only when it is a whole word followed by whitespace or `(`.
    fn eat_keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let after = rest.get(word.len()..).unwrap_or("");
        if rest.starts_with(word) && after.starts_with(|c: char| c.is_whitespace() || c == '(') {
            self.pos += word.len();
            true
        } else {
            false
        }
    }
}

fn checked_key(key: &str) -> Result<String, String> {
    if key.is_empty() {
        return Err("unable to parse requirement: key must be non-empty".into());
    }
    check_label_key(key)
        .map_err(|e| format!("unable to parse requirement: key: Invalid value: \"{key}\": {e}"))?;
    Ok(key.to_string())
}

fn checked_value(value: &str) -> Result<String, String> {
    check_label_value(value).map_err(|e| {
        format!("unable to parse requirement: values[0][{value}]: Invalid value: \"{value}\": {e}")
    })?;
    Ok(value.to_string())
}

fn integer_operand(c: &mut Cursor<'_>) -> Result<String, String> {
    c.skip_ws();
    let v = c.ident();
    v.parse::<i64>().map_err(|_| {
        format!("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {v:?}")
    })?;
    Ok(v.to_string())
}

fn parse_set(c: &mut Cursor<'_>) -> Result<Vec<String>, String> {
    c.skip_ws();
    if !c.eat("(") {
        return Err(format!("found '{}', expected: '('", c.rest()));
    }
    let mut values = Vec::new();
    loop {
        c.skip_ws();
        let v = c.ident();
        values.push(checked_value(v)?);
        c.skip_ws();
        if c.eat(")") {
            return Ok(values);
        }
        if !c.eat(",") {
            return Err(format!("found '{}', expected: ',' or ')'", c.rest()));
        }
    }
}

impl LabelSelector {
    /// Parses the `labelSelector` syntax (`a=b,c!=d,e in (f,g),!h,i`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut c = Cursor { s, pos: 0 };
        let mut requirements = Vec::new();
        c.skip_ws();
        if c.peek().is_none() {
            return Ok(Self::default());
        }
        loop {
            c.skip_ws();
            let req = if c.eat("!") {
                c.skip_ws();
                LabelRequirement {
                    key: checked_key(c.ident())?,
                    op: LabelOp::DoesNotExist,
                    values: vec![],
                }
            } else {
                let key = checked_key(c.ident())?;
                c.skip_ws();
                let (op, values) = if c.peek().is_none() || c.peek() == Some(',') {
                    (LabelOp::Exists, vec![])
                } else if c.eat("==") || c.eat("=") {
                    c.skip_ws();
                    (LabelOp::Equals, vec![checked_value(c.ident())?])
                } else if c.eat("!=") {
                    c.skip_ws();
                    (LabelOp::NotEquals, vec![checked_value(c.ident())?])
                } else if c.eat(">") {
                    (LabelOp::GreaterThan, vec![integer_operand(&mut c)?])
                } else if c.eat("<") {
                    (LabelOp::LessThan, vec![integer_operand(&mut c)?])
                } else if c.eat_keyword("notin") {
                    (LabelOp::NotIn, parse_set(&mut c)?)
                } else if c.eat_keyword("in") {
                    (LabelOp::In, parse_set(&mut c)?)
                } else {
                    return Err(format!(
                        "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                        c.rest()
                    ));
                };
                LabelRequirement { key, op, values }
            };
            requirements.push(req);
            c.skip_ws();
            if c.peek().is_none() {
                break;
            }
            if !c.eat(",") {
                return Err(format!(
                    "found '{}', expected: ',' or 'end of string'",
                    c.rest()
                ));
            }
        }
        Ok(Self { requirements })
    }

    /// Whether the selector has no requirements (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.requirements.iter().all(|r| {
            let value = labels.and_then(|l| l.get(&r.key)).and_then(Value::as_str);
            let in_set = || value.is_some_and(|v| r.values.iter().any(|x| x == v));
            let compare = |want: std::cmp::Ordering| {
                let lhs = value.and_then(|v| v.parse::<i64>().ok());
                let rhs = r.values.first().and_then(|v| v.parse::<i64>().ok());
                matches!((lhs, rhs), (Some(a), Some(b)) if a.cmp(&b) == want)
            };
            match r.op {
                LabelOp::Equals | LabelOp::In => in_set(),
                LabelOp::NotEquals | LabelOp::NotIn => !in_set(),
                LabelOp::Exists => value.is_some(),
                LabelOp::DoesNotExist => value.is_none(),
                LabelOp::GreaterThan => compare(std::cmp::Ordering::Greater),
                LabelOp::LessThan => compare(std::cmp::Ordering::Less),
            }
        })
    }
}

/// One `field=value` / `field!=value` term of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// Field label, e.g. `metadata.name`.
    pub field: String,
    /// `true` for `!=`.
    pub negated: bool,
    /// The (unescaped) value.
    pub value: String,
}

/// A parsed field selector; all terms must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// The terms, in the order written.
    pub requirements: Vec<FieldRequirement>,
}

/// Splits on an unescaped separator character.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push('\\');
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if escaped {
        cur.push('\\');
    }
    parts.push(cur);
    parts
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(e) => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{e}"
                    ))
                }
                None => return Err("invalid field selector: unterminated escape sequence".into()),
            }
        } else if c == ',' || c == '=' {
            return Err(format!(
                "invalid field selector: unescaped {c:?} in value {s:?}"
            ));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

impl FieldSelector {
    /// Parses the `fieldSelector` syntax (`metadata.name=a,spec.type!=b`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        if s.trim().is_empty() {
            return Ok(Self::default());
        }
        for term in split_unescaped(s, ',') {
            let find = |op: &str| term.find(op);
            let (field, negated, raw) = if let Some(i) = find("!=") {
                (&term[..i], true, &term[i + 2..])
            } else if let Some(i) = find("==") {
                (&term[..i], false, &term[i + 2..])
            } else if let Some(i) = find("=") {
                (&term[..i], false, &term[i + 1..])
            } else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{term}'"
                ));
            };
            let field = field.trim();
            if field.is_empty() {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{term}'"
                ));
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                negated,
                value: unescape(raw)?,
            });
        }
        Ok(Self { requirements })
    }

    /// Whether the selector has no terms.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The fields referenced by the selector.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|r| r.field.as_str())
    }

    /// Whether every term holds, given how to read a field's value as a string
    /// (missing fields read as the empty string, as on the real server).
    pub fn matches(&self, field_value: impl Fn(&str) -> String) -> bool {
        self.requirements
            .iter()
            .all(|r| (field_value(&r.field) == r.value) != r.negated)
    }
}

/// Reads a JSON value at `path` as the string a field selector compares against.
pub fn field_string(obj: &Value, path: &[String]) -> String {
    let v = path.iter().try_fold(obj, |cur, key| cur.get(key.as_str()));
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn label_selector_matching() {
        let obj = labels(json!({"app": "web", "tier": "front", "n": "5"}));
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app = web", true),
            ("app=db", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (web, db)", true),
            ("app in (db)", false),
            ("app notin (db)", true),
            ("missing notin (db)", true),
            ("app notin (web)", false),
            ("app", true),
            ("missing", false),
            ("!missing", true),
            ("!app", false),
            ("app=web,tier=front", true),
            ("app=web,tier=back", false),
            ("n>4", true),
            ("n<4", false),
            ("app>4", false),
            ("ferrolb.io/pool", false),
        ];
        for (sel, want) in cases {
            let s = LabelSelector::parse(sel).unwrap_or_else(|e| panic!("{sel:?}: {e}"));
            assert_eq!(s.matches(Some(&obj)), want, "{sel:?}");
        }
        assert!(LabelSelector::parse("!app").unwrap().matches(None));
        assert!(!LabelSelector::parse("app").unwrap().matches(None));
    }

    #[test]
    fn label_selector_errors() {
        for bad in [
            "app=",
            "app in web",
            "app in (a",
            "app=web,",
            ",",
            "app in (a) x",
            "n>x",
            "Bad_Prefix/x=1",
            "a=-b",
            "a b",
        ] {
            let r = LabelSelector::parse(bad);
            if bad == "app=" {
                // An empty value is valid and means "the label is present and empty".
                assert!(r.is_ok(), "{bad:?}");
            } else {
                assert!(r.is_err(), "{bad:?} parsed as {r:?}");
            }
        }
    }

    #[test]
    fn field_selector_parsing_and_matching() {
        let obj = json!({"metadata": {"name": "a,b", "namespace": "ns"}, "spec": {"flag": true}});
        let read = |f: &str| {
            let path: Vec<String> = f.split('.').map(str::to_string).collect();
            field_string(&obj, &path)
        };
        let cases = [
            ("metadata.name=a\\,b", true),
            ("metadata.name==a\\,b", true),
            ("metadata.name!=a\\,b", false),
            ("metadata.namespace=ns,spec.flag=true", true),
            ("spec.missing=", true),
            ("spec.missing!=", false),
            ("metadata.namespace=other", false),
        ];
        for (sel, want) in cases {
            let s = FieldSelector::parse(sel).unwrap_or_else(|e| panic!("{sel:?}: {e}"));
            assert_eq!(s.matches(read), want, "{sel:?}");
        }
        for bad in ["metadata.name", "=x", "a=b\\q", "a=b=c"] {
            assert!(FieldSelector::parse(bad).is_err(), "{bad:?}");
        }
    }
}
