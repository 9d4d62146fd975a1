//! The YAML that sops writes: a tree printed the way go-yaml v3 (`go.yaml.in/yaml/v3`, what
//! sops' YAML store uses) prints the `yaml.Node` tree sops builds from it.
//!
//! This module owns the part of go-yaml v3's encoder and libyaml-derived emitter that sops can
//! reach: block mappings and sequences (sequences indented under their key, since go-yaml v3
//! always indents them), empty collections as `{}`/`[]`, documents joined by `---`, and scalars
//! in the style go-yaml v3 picks:
//! - strings: a literal block (`|`, `|-`, `|+`) when they contain a line break, plain when go-yaml
//!   v3 would read the plain text back as the same string (not `true`, `1`, `2024-01-01`, `~`,
//!   and not YAML 1.1's `yes`/`on` or base-60 numbers, which go-yaml v3 still quotes), otherwise
//!   double-quoted; then the emitter's own checks demote plain to single-quoted and single-quoted
//!   or literal to double-quoted where the text needs it (leading/trailing spaces, indicators,
//!   tabs, control and non-BMP characters);
//! - integers in decimal, floats as Go's `FormatFloat(f, 'g', -1, 64)` (`.inf`, `.nan`), booleans
//!   `true`/`false`, null as `null`, timestamps as their RFC 3339 text;
//! - no line folding (go-yaml v3 sets an unlimited width).
//!
//! It does not own comments (kiln's YAML tree has none, so encryption refuses YAML comments),
//! anchors, tags, flow style, or keys that cannot be simple keys (over 128 bytes or multi-line),
//! which are refused.

use std::borrow::Cow;

use super::SopsError;
use super::mac;
use super::tree::{Item, Leaf, TreeValue};
use super::value::ValueType;
use crate::yaml::emit::{is_base60_float, is_break, is_printable};
use crate::yaml::{self, KustomizeValue, ScalarStyle};

/// go-yaml's limit for a simple (`key: value`) key, in bytes.
const MAX_SIMPLE_KEY: usize = 128;

/// Prints branches (one per document) as sops' YAML store does with `SetIndent(indent)`.
///
/// # Errors
/// [`SopsError::Unsupported`] for comments and keys that need the explicit `? key` form,
/// [`SopsError::Malformed`] for a value that is not UTF-8 or not valid for its type.
pub(crate) fn emit(branches: &[Vec<Item>], indent: usize) -> Result<String, SopsError> {
    let mut e = Emitter {
        out: String::new(),
        // go-yaml falls back to 2 outside 2..=9.
        best: if (2..=9).contains(&indent) { indent } else { 2 },
        indent: -1,
        indents: Vec::new(),
        column: 0,
        whitespace: true,
        indention: true,
    };
    for (n, items) in branches.iter().enumerate() {
        if n > 0 {
            e.write_indent();
            e.write_indicator("---", true, false, false);
            e.write_indent();
        }
        e.mapping(items, Ctx::Root)?;
        e.write_indent();
    }
    Ok(e.out)
}

/// What encloses a node: only a sequence item changes how indentation grows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    Value,
    Item,
    Key,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Emitter {
    out: String,
    best: usize,
    /// libyaml's `indent`; -1 before the root collection.
    indent: isize,
    indents: Vec<isize>,
    /// Characters written on the current line.
    column: usize,
    whitespace: bool,
    indention: bool,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    fn write_indent(&mut self) {
        let indent = usize::try_from(self.indent).unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
    }

    fn write_indicator(&mut self, s: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        for c in s.chars() {
            self.put(c);
        }
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    /// go-yaml v3's `increase_indent`: a sequence item's content skips the `- `, everything else
    /// aligns to the next multiple of the indentation step.
    fn increase_indent(&mut self, flow: bool, ctx: Ctx) {
        self.indents.push(self.indent);
        let best = isize::try_from(self.best).unwrap_or(4);
        if self.indent < 0 {
            self.indent = if flow { best } else { 0 };
        } else if ctx == Ctx::Item {
            self.indent += 2;
        } else {
            self.indent = best * ((self.indent + best) / best);
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn mapping(&mut self, items: &[Item], ctx: Ctx) -> Result<(), SopsError> {
        let mut entries = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Item::Entry(key, value) => entries.push((key, value)),
                Item::Comment(_) => {
                    return Err(SopsError::Unsupported {
                        what: "comments in YAML output".to_owned(),
                    });
                }
            }
        }
        if entries.is_empty() {
            self.write_indicator("{", true, true, false);
            self.write_indicator("}", false, false, false);
            return Ok(());
        }
        self.increase_indent(false, ctx);
        for (key, value) in entries {
            self.write_indent();
            if key.len() > MAX_SIMPLE_KEY
                || key.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
            {
                return Err(SopsError::Unsupported {
                    what: "map keys longer than 128 bytes or spanning lines in YAML output"
                        .to_owned(),
                });
            }
            self.string(key, Ctx::Key);
            self.write_indicator(":", false, false, false);
            self.value(value, Ctx::Value)?;
        }
        self.pop_indent();
        Ok(())
    }

    fn value(&mut self, value: &TreeValue, ctx: Ctx) -> Result<(), SopsError> {
        match value {
            TreeValue::Null => self.scalar("null", Style::Plain, ctx),
            TreeValue::Leaf(leaf) => self.leaf(leaf, ctx)?,
            TreeValue::Map(items) => self.mapping(items, ctx)?,
            TreeValue::Seq(values) if values.is_empty() => {
                self.write_indicator("[", true, true, false);
                self.write_indicator("]", false, false, false);
            }
            TreeValue::Seq(values) => {
                self.increase_indent(false, ctx);
                for v in values {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.value(v, Ctx::Item)?;
                }
                self.pop_indent();
            }
        }
        Ok(())
    }

    fn leaf(&mut self, leaf: &Leaf, ctx: Ctx) -> Result<(), SopsError> {
        let text = leaf.as_str().ok_or_else(|| SopsError::Malformed {
            what: "a value is not UTF-8 and cannot be written as YAML".to_owned(),
        })?;
        let invalid = || SopsError::Malformed {
            what: format!("a {} value is not valid", leaf.value_type.tag()),
        };
        match leaf.value_type {
            ValueType::Str | ValueType::Bytes | ValueType::Comment => self.string(text, ctx),
            ValueType::Int => {
                let i: i64 = text.parse().map_err(|_| invalid())?;
                self.scalar(&i.to_string(), Style::Plain, ctx);
            }
            ValueType::Float => {
                let f = mac::parse_float(text).ok_or_else(invalid)?;
                self.scalar(&format_g(f), Style::Plain, ctx);
            }
            ValueType::Bool => {
                let b = mac::parse_bool(text).ok_or_else(invalid)?;
                self.scalar(if b { "true" } else { "false" }, Style::Plain, ctx);
            }
            ValueType::Time => self.scalar(text, Style::Plain, ctx),
        }
        Ok(())
    }

    /// A string: go-yaml v3's encoder picks literal, plain or double-quoted.
    fn string(&mut self, text: &str, ctx: Ctx) {
        let style = if text.contains('\n') {
            Style::Literal
        } else if plain_reads_back(text) {
            Style::Plain
        } else {
            Style::Double
        };
        self.scalar(text, style, ctx);
    }

    fn scalar(&mut self, text: &str, requested: Style, ctx: Ctx) {
        let a = analyze(text);
        let simple_key = ctx == Ctx::Key;
        let mut style = requested;
        if simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain && (!a.block_plain_allowed || (text.is_empty() && simple_key)) {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::Double;
        }
        // go-yaml's `emit_scalar` raises the indentation around the scalar (block scalars'
        // content is written there).
        self.increase_indent(true, ctx);
        match style {
            Style::Plain => self.write_plain(text),
            Style::Single => self.write_single(text),
            Style::Double => self.write_double(text),
            Style::Literal => self.write_literal(text),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, text: &str) {
        if !text.is_empty() && !self.whitespace {
            self.put(' ');
        }
        for c in text.chars() {
            self.put(c);
        }
        if !text.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
    }

    fn write_single(&mut self, text: &str) {
        self.write_indicator("'", true, false, false);
        for c in text.chars() {
            if c == '\'' {
                self.put('\'');
            }
            self.put(c);
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, text: &str) {
        self.write_indicator("\"", true, false, false);
        for c in text.chars() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let v = u32::from(c);
                let short = match v {
                    0x00 => Some('0'),
                    0x07 => Some('a'),
                    0x08 => Some('b'),
                    0x09 => Some('t'),
                    0x0A => Some('n'),
                    0x0B => Some('v'),
                    0x0C => Some('f'),
                    0x0D => Some('r'),
                    0x1B => Some('e'),
                    0x22 => Some('"'),
                    0x5C => Some('\\'),
                    0x85 => Some('N'),
                    0xA0 => Some('_'),
                    0x2028 => Some('L'),
                    0x2029 => Some('P'),
                    _ => None,
                };
                match short {
                    Some(s) => self.put(s),
                    None => {
                        let escaped = if v <= 0xFF {
                            format!("x{v:02X}")
                        } else if v <= 0xFFFF {
                            format!("u{v:04X}")
                        } else {
                            format!("U{v:08X}")
                        };
                        for e in escaped.chars() {
                            self.put(e);
                        }
                    }
                }
            } else {
                self.put(c);
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, text: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation indicator when the text starts with a space or a
        // break, then the chomping indicator.
        if text.starts_with(' ') || text.chars().next().is_some_and(is_break) {
            let hint = char::from_digit(u32::try_from(self.best).unwrap_or(4), 10).unwrap_or('4');
            self.write_indicator(&hint.to_string(), false, false, false);
        }
        let mut rev = text.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (None, _) => Some('-'),
            (Some(last), _) if !is_break(last) => Some('-'),
            (Some(_), None) => Some('+'),
            (Some(_), Some(prev)) if is_break(prev) => Some('+'),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(&chomp.to_string(), false, false, false);
        }
        self.whitespace = true;
        let mut breaks = true;
        for c in text.chars() {
            if is_break(c) {
                if c == '\n' {
                    self.put_break();
                } else {
                    self.out.push(c);
                    self.column = 0;
                    self.indention = true;
                }
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// Whether go-yaml v3's encoder writes `text` unquoted: its plain form must resolve to the same
/// string (not null, bool, number, timestamp or the merge key `<<`), and it must not be a YAML
/// 1.1 boolean or base-60 float, which go-yaml v3 quotes for older readers.
fn plain_reads_back(text: &str) -> bool {
    let scalar = yaml::Scalar {
        text: text.to_owned(),
        style: ScalarStyle::Plain,
    };
    matches!(
        yaml::scalar_value(None, &scalar),
        KustomizeValue::Str(Cow::Borrowed(_))
    ) && text != "<<"
        && !is_old_bool(text)
        && !is_base60_float(text)
}

fn is_old_bool(text: &str) -> bool {
    matches!(
        text,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` as go-yaml writes it (`.inf`, `-.inf`, `.nan`).
pub(crate) fn format_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Shortest round-trip digits and the decimal exponent, from Rust's `{:e}` (`1.5e-7`).
    let sci = format!("{:e}", f.abs());
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (esign, edigits) = if exp < 0 { ('-', -exp) } else { ('+', exp) };
        return format!("{sign}{mantissa}e{esign}{edigits:02}");
    }
    // `%f` with exactly the shortest digits: Rust's `Display` does the same.
    format!("{sign}{}", f.abs())
}

/// What libyaml's `yaml_emitter_analyze_scalar` (go-yaml v3's version) finds out.
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut tab_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut preceded_by_whitespace = true;
    let mut previous_space = false;
    let mut previous_break = false;
    let chars: Vec<char> = value.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let first = i == 0;
        let last = i + 1 == chars.len();
        let followed_by_whitespace = chars.get(i + 1).is_none_or(|&n| n == ' ' || n == '\t');
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if c == '\t' {
            tab_characters = true;
        } else if !is_printable(c) {
            special_characters = true;
        }
        if c == ' ' {
            leading_space |= first;
            trailing_space |= last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= first;
            trailing_break |= last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = c == ' ' || c == '\t' || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tab_characters || special_characters {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(value_type: ValueType, text: &str) -> TreeValue {
        TreeValue::Leaf(Leaf::clear(value_type, text))
    }

    fn entry(key: &str, value: TreeValue) -> Item {
        Item::Entry(key.to_owned(), value)
    }

    #[test]
    fn prints_like_go_yaml_v3() {
        let items = vec![
            entry("plain", leaf(ValueType::Str, "hello world")),
            entry("looks_bool", leaf(ValueType::Str, "true")),
            entry("old_bool", leaf(ValueType::Str, "yes")),
            entry("number_text", leaf(ValueType::Str, "0755")),
            entry("date_text", leaf(ValueType::Str, "2024-01-01")),
            entry("colon", leaf(ValueType::Str, "a: b")),
            entry("quote", leaf(ValueType::Str, "it's #1")),
            entry("tab", leaf(ValueType::Str, "a\tb")),
            entry("empty", leaf(ValueType::Str, "")),
            entry("multi", leaf(ValueType::Str, "line 1\nline 2\n")),
            entry("strip", leaf(ValueType::Str, "line 1\nline 2")),
            entry("int", leaf(ValueType::Int, "-42")),
            entry("float", leaf(ValueType::Float, "1234.5")),
            entry("big", leaf(ValueType::Float, "1000000")),
            entry("bool", leaf(ValueType::Bool, "True")),
            entry("null", TreeValue::Null),
            entry("emptymap", TreeValue::Map(Vec::new())),
            entry("emptyseq", TreeValue::Seq(Vec::new())),
            entry(
                "list",
                TreeValue::Seq(vec![
                    leaf(ValueType::Str, "a"),
                    TreeValue::Map(vec![
                        entry("k", leaf(ValueType::Str, "v")),
                        entry("l", TreeValue::Seq(vec![leaf(ValueType::Int, "1")])),
                        entry("m", leaf(ValueType::Str, "x\ny\n")),
                    ]),
                    // YAML 1.1 booleans (`n`, `y`) are quoted too.
                    TreeValue::Seq(vec![leaf(ValueType::Str, "n")]),
                ]),
            ),
            entry(
                "nested",
                TreeValue::Map(vec![entry(
                    "deeper",
                    TreeValue::Map(vec![entry("x", leaf(ValueType::Str, "y"))]),
                )]),
            ),
        ];
        let out = emit(&[items], 4).expect("emits");
        let expected = r#"plain: hello world
looks_bool: "true"
old_bool: "yes"
number_text: "0755"
date_text: "2024-01-01"
colon: 'a: b'
quote: 'it''s #1'
tab: "a\tb"
empty: ""
multi: |
    line 1
    line 2
strip: |-
    line 1
    line 2
int: -42
float: 1234.5
big: 1e+06
bool: true
"null": null
emptymap: {}
emptyseq: []
list:
    - a
    - k: v
      l:
        - 1
      m: |
        x
        y
    - - "n"
nested:
    deeper:
        x: "y"
"#;
        assert_eq!(out, expected);
    }

    #[test]
    fn documents_are_separated() {
        let doc = |v: &str| vec![entry("a", leaf(ValueType::Str, v))];
        let out = emit(&[doc("1x"), doc("2x")], 2).expect("emits");
        assert_eq!(out, "a: 1x\n---\na: 2x\n");
    }

    #[test]
    fn go_g_format() {
        for (f, text) in [
            (1.0, "1"),
            (1234.5, "1234.5"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (f64::INFINITY, ".inf"),
            (f64::NEG_INFINITY, "-.inf"),
        ] {
            assert_eq!(format_g(f), text, "{f}");
        }
    }
}
