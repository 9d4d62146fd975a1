//! YAML emitter: prints [`Node`] trees byte for byte the way `kustomize build` prints resources.
//!
//! This module owns:
//! - kustomize's printing path, `Resource.AsYAML`, which is not kyaml's writer but a round trip:
//!   the kyaml node is decoded by go-yaml v3 into Go values, marshalled to JSON, read back by
//!   go-yaml v2 (sigs.k8s.io/yaml `JSONToYAML`) and marshalled again by go-yaml v2. So the output
//!   depends only on the *values*, never on how the input was written (styles, comments, flow
//!   collections, anchors and key order are all lost):
//!   - scalars are read with go-yaml v3's rules ([`scalar_value`]: `yes`/`on` stay strings,
//!     `0755` is 493, `1.0` is 1, an unquoted date becomes an RFC 3339 timestamp string);
//!   - strings come back from JSON unchanged except for U+0085, which is folded like a line
//!     break;
//!   - mapping keys are re-sorted at every depth in go-yaml v2's natural order ([`natural_cmp`]);
//!   - every scalar is printed plain, single-quoted, double-quoted or as a literal block by
//!     go-yaml v2's encoder and libyaml-derived emitter (2-space indent, sequences not indented
//!     under their key, plain and quoted scalars folded past column 80, quoting where YAML 1.1
//!     would read the text as something else);
//! - joining documents with `---` lines ([`emit_documents`]);
//! - knowing which values the round trip refuses ([`check_printable`]): the emitter itself
//!   prints everything.
//!
//! It does not own:
//! - transforming, dropping or sorting resources;
//! - what kustomize's reader and transformers do before printing, which the renderer must
//!   reproduce on the tree: kyaml's `DeAnchor` applies `<<` merges and removes every key named
//!   `<<` (a `<<` key reaching the emitter is printed as an ordinary key); empty
//!   `metadata.annotations`/`labels` maps are dropped; annotation values are rewritten as
//!   strings of their source text (tag them `!!str`, which the emitter honours);
//! - the input's collection style, which the tree does not keep but kustomize's round trip
//!   sees in one case: kyaml re-encodes a flow collection in flow style, where a timestamp
//!   containing `:` must be quoted, so such a timestamp inside `[...]`/`{...}` stays a string of
//!   its text while the emitter converts it as in block style.
//!
//! Speed: one `String` is built per call; scalars are analysed in one pass over their bytes,
//! without regexes, and copied whole when they cannot need folding.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::{Node, NodeKind, Scalar, ScalarStyle, Value};

/// go-yaml's indentation step (`best_indent`).
const INDENT: usize = 2;
/// go-yaml v2's preferred line width (`best_width`): plain and quoted scalars are folded at the
/// first space after this column.
const WIDTH: usize = 80;
/// Longest key (in bytes) that libyaml writes as a simple `key: value`; longer keys get the
/// explicit `? key` form.
const MAX_SIMPLE_KEY: usize = 128;

/// Prints documents as `kustomize build` prints a resource list: each document as
/// [`emit_node`] prints it, separated by `---\n` lines, with no leading separator. Each
/// document ends with a newline, so the stream does too; no documents give an empty string.
#[must_use]
pub fn emit_documents(docs: &[&Node]) -> String {
    let mut out = String::with_capacity(docs.len() * 1024);
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit_node_into(&mut out, doc);
    }
    out
}

/// Prints one document (one resource) as kustomize prints it, ending with a newline and
/// without a `---` marker.
#[must_use]
pub fn emit_node(node: &Node) -> String {
    let mut out = String::with_capacity(1024);
    emit_node_into(&mut out, node);
    out
}

/// Appends one document, as [`emit_node`] prints it, to `out`.
pub fn emit_node_into(out: &mut String, node: &Node) {
    let mut emitter = Emitter {
        out,
        column: 0,
        indent: None,
        whitespace: true,
        indention: true,
        flow_level: 0,
    };
    emitter.node(node, Context::ROOT);
    // libyaml's DOCUMENT-END: finish the last line unless a block scalar already did.
    emitter.write_indent();
}

/// Why kustomize would fail to print a document (its JSON round trip refuses the value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unprintable<'a> {
    /// `.inf`, `-.inf` or `.nan`: Go's JSON encoder refuses them (`json: unsupported value`).
    NonFiniteFloat(&'a Node),
    /// A mapping key that is not a string: below the top level any key go-yaml v3 does not
    /// read as a string (`1`, `true`, `~`, a date, a local tag), because the mapping then
    /// becomes a `map[interface{}]interface{}` that Go's JSON encoder refuses; at the top level
    /// a null key; anywhere a sequence or mapping as a key.
    NonStringKey(&'a Node),
    /// A string containing DEL, a C1 control other than U+0085, U+FFFE or U+FFFF: Go's JSON
    /// encoder writes them raw and go-yaml v2's reader refuses them (`control characters are
    /// not allowed`).
    ControlCharacter(&'a Node, char),
    /// A key containing U+0085, which the JSON round trip turns into a line break inside a
    /// flow mapping key, which go-yaml v2 cannot read.
    BreakInKey(&'a Node),
}

/// Checks that kustomize can print `node` (one document), returning the first problem in
/// document order. [`emit_node`] prints such documents anyway; this is for callers that must
/// fail where `kustomize build` fails.
///
/// # Errors
/// The first value or key that kustomize's printing path refuses, see [`Unprintable`].
pub fn check_printable(node: &Node) -> Result<(), Unprintable<'_>> {
    check(node, true)
}

fn check(node: &Node, top: bool) -> Result<(), Unprintable<'_>> {
    match &node.kind {
        NodeKind::Scalar(s) => match scalar_value(node.tag.as_deref(), s) {
            KustomizeValue::Float(f) if !f.is_finite() => Err(Unprintable::NonFiniteFloat(node)),
            KustomizeValue::Str(text) => match text.chars().find(|&c| is_refused_by_reader(c)) {
                Some(c) => Err(Unprintable::ControlCharacter(node, c)),
                None => Ok(()),
            },
            _ => Ok(()),
        },
        NodeKind::Seq(items) => items.iter().try_for_each(|item| check(item, false)),
        NodeKind::Map(entries) => entries.iter().try_for_each(|(key, value)| {
            let NodeKind::Scalar(k) = &key.kind else {
                return Err(Unprintable::NonStringKey(key));
            };
            let tag = key.tag.as_deref();
            let string_key = if top {
                !matches!(scalar_value(tag, k), KustomizeValue::Null)
            } else {
                is_v3_string(tag, k)
            };
            if !string_key {
                return Err(Unprintable::NonStringKey(key));
            }
            if let Some(c) = k.text.chars().find(|&c| is_refused_by_reader(c)) {
                return Err(Unprintable::ControlCharacter(key, c));
            }
            if k.text.contains('\u{85}') {
                return Err(Unprintable::BreakInKey(key));
            }
            check(value, false)
        }),
    }
}

/// Characters Go's JSON encoder leaves raw that go-yaml v2's reader refuses.
fn is_refused_by_reader(c: char) -> bool {
    matches!(c, '\x7F'..='\u{84}' | '\u{86}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Whether go-yaml v3 gives the scalar the `!!str` tag (`Node.ShortTag`), the condition for a
/// mapping to decode into `map[string]interface{}`.
fn is_v3_string(tag: Option<&str>, scalar: &Scalar) -> bool {
    match tag {
        Some("!!str") => true,
        None | Some("!") if scalar.style == ScalarStyle::Plain => {
            let text = scalar.text.as_str();
            matches!(resolve_v3(text), KustomizeValue::Str(_))
                && !(text.as_bytes().first().is_some_and(u8::is_ascii_digit)
                    && parse_timestamp(text).is_some())
        }
        None | Some("!") => true,
        Some(_) => false,
    }
}

/// A scalar's value as kustomize holds it between go-yaml v3's decoder and the JSON encoder.
#[derive(Debug, Clone, PartialEq)]
pub enum KustomizeValue<'a> {
    /// `null`, `~`, empty, `!!null`.
    Null,
    /// Only `true`/`false` in three casings (go-yaml v3 dropped YAML 1.1's `yes`/`on`/`y`...).
    Bool(bool),
    /// An integer that fits `i64` (decimal, `0x`, `0o`, `0b`, `0`-prefixed octal, `_` ignored).
    Int(i64),
    /// An integer above `i64::MAX` that fits `u64`.
    UInt(u64),
    /// A float (`1.0`, `1e3`, `.5`, integers beyond `u64`, `.inf`, `.nan`).
    Float(f64),
    /// A string: quoted and block scalars, `!!str`, and plain text that is nothing else.
    /// Timestamps are already their JSON form (`2001-12-14` gives `2001-12-14T00:00:00Z`).
    Str(Cow<'a, str>),
}

/// Reads a scalar the way kustomize does: go-yaml v3's resolution (YAML 1.2 core schema plus
/// YAML 1.1 octals and timestamps) of what kyaml parsed.
///
/// - quoted and block scalars are strings, unless explicitly tagged;
/// - plain scalars (and the non-specific tag `!`): `null`/`Null`/`NULL`/`~`/empty are null;
///   `true`/`True`/`TRUE`/`false`/... are booleans; integers as Go's `strconv.ParseInt(s, 0, 64)`
///   after dropping `_`, then `ParseUint`; floats; timestamps (`2001-12-14`,
///   `2001-12-14T21:59:43.10-05:00`, `2001-12-14 21:59:43.10`) become their RFC 3339 string;
///   anything else (including `yes`, `on`, `y`, `1:20`) is a string;
/// - explicit tags decide: `!!str` string, `!!int`/`!!float`/`!!bool`/`!!null` the resolved
///   text (`!!float 1` is the float 1), `!!timestamp` a timestamp, `!!binary` the decoded bytes
///   as a string, local and unknown tags strings.
#[must_use]
pub fn scalar_value<'a>(tag: Option<&str>, scalar: &'a Scalar) -> KustomizeValue<'a> {
    let text = scalar.text.as_str();
    match tag {
        None | Some("!") if scalar.style == ScalarStyle::Plain => resolve_v3(text),
        None | Some("!" | "!!str") => KustomizeValue::Str(Cow::Borrowed(text)),
        Some("!!int" | "!!bool" | "!!null") => match resolve_v3(text) {
            KustomizeValue::Str(_) => from_v2(super::resolve_plain(text), text),
            resolved => resolved,
        },
        Some("!!float") => match resolve_v3(text) {
            KustomizeValue::Int(i) => KustomizeValue::Float(i as f64),
            KustomizeValue::UInt(u) => KustomizeValue::Float(u as f64),
            resolved => resolved,
        },
        Some("!!timestamp") => match parse_timestamp(text) {
            Some(t) => KustomizeValue::Str(Cow::Owned(t)),
            None => KustomizeValue::Str(Cow::Borrowed(text)),
        },
        Some("!!binary") => KustomizeValue::Str(decode_binary(text)),
        Some(_) => KustomizeValue::Str(Cow::Borrowed(text)),
    }
}

/// go-yaml v3's `resolve("", text)` for a plain scalar.
fn resolve_v3(text: &str) -> KustomizeValue<'_> {
    match text {
        // YAML 1.1 booleans that go-yaml v2 (and so `Node::resolve`) reads but v3 does not.
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "n" | "N" | "no" | "No" | "NO"
        | "off" | "Off" | "OFF" => return KustomizeValue::Str(Cow::Borrowed(text)),
        _ => {}
    }
    // v3 tries timestamps before numbers; both need a leading digit.
    if text.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && let Some(t) = parse_timestamp(text)
    {
        return KustomizeValue::Str(Cow::Owned(t));
    }
    // Everything else resolves as in go-yaml v2.
    from_v2(super::resolve_plain(text), text)
}

fn from_v2<'a>(value: Value<'_>, text: &'a str) -> KustomizeValue<'a> {
    match value {
        Value::Null => KustomizeValue::Null,
        Value::Bool(b) => KustomizeValue::Bool(b),
        Value::Int(i) => KustomizeValue::Int(i),
        Value::UInt(u) => KustomizeValue::UInt(u),
        Value::Float(f) => KustomizeValue::Float(f),
        Value::Str(_) => KustomizeValue::Str(Cow::Borrowed(text)),
    }
}

/// Go's `base64.StdEncoding.DecodeString` (ignoring line breaks), then the bytes as Go's JSON
/// encoder writes them: each byte that is not part of valid UTF-8 becomes U+FFFD. Invalid
/// base64 (go-yaml fails) keeps the text.
fn decode_binary(text: &str) -> Cow<'_, str> {
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut padding = 0;
    for &c in text.as_bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'\r' | b'\n' => continue,
            b'=' => {
                padding += 1;
                continue;
            }
            _ => return Cow::Borrowed(text),
        };
        if padding > 0 {
            return Cow::Borrowed(text);
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
        }
    }
    let data_chars = text.bytes().filter(|c| !matches!(c, b'\r' | b'\n')).count();
    if data_chars % 4 != 0 || padding > 2 {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                // Go's decoder consumes one byte per invalid sequence.
                out.push('\u{FFFD}');
                rest = &after[1..];
            }
        }
    }
    Cow::Owned(out)
}

/// The text go-yaml v2 prints for a float that went through Go's JSON encoder and back.
///
/// JSON writes an integral float below 1e21 without fraction or exponent, which go-yaml v2 then
/// reads as an integer (`1.0` prints `1`, `1e19` prints `10000000000000000000`); other floats
/// come back as floats and are written with Go's `strconv.FormatFloat(f, 'g', -1, 64)`
/// (`1.2345675e+06`, `1e-05`, `1e+20`).
fn float_text(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let (negative, digits, exp) = shortest_digits(f);
    if f.trunc() == f && f.abs() < 1e21 {
        // JSON's `'f'` format: the shortest digits padded with zeros.
        let dp = usize::try_from(exp + 1).unwrap_or(0);
        let mut int_text = digits.clone();
        if dp > int_text.len() {
            int_text.extend(std::iter::repeat_n('0', dp - int_text.len()));
        }
        if f == 0.0 {
            return "0".to_owned();
        }
        if let Ok(magnitude) = int_text.parse::<u128>() {
            if negative {
                if magnitude <= 1u128 << 63 {
                    return format!("-{int_text}");
                }
            } else if magnitude <= u128::from(u64::MAX) {
                return int_text;
            }
        }
    }
    format_g(negative, &digits, exp)
}

/// The shortest round-trip decimal digits of `f` (no leading zeros) and the decimal exponent
/// of the first digit.
fn shortest_digits(f: f64) -> (bool, String, i32) {
    // Rust's `{:e}` prints the shortest round-trip digits, like Go's `FormatFloat(f, _, -1)`.
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (f.is_sign_negative(), digits, exp.parse().unwrap_or(0))
}

/// Go's `strconv.FormatFloat(f, 'g', -1, _)` from the shortest digits (shared with the
/// float32 key spelling in `yaml`).
pub(crate) fn format_g(negative: bool, digits: &str, exp: i32) -> String {
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    // With the shortest precision Go switches to %e at exponent 6 or below -4.
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else {
        let nd = digits.len() as i32;
        let dp = exp + 1;
        if dp > 0 {
            for i in 0..dp {
                out.push(
                    digits
                        .as_bytes()
                        .get(i as usize)
                        .map_or('0', |&b| char::from(b)),
                );
            }
        } else {
            out.push('0');
        }
        let prec = (nd - dp).max(0);
        if prec > 0 {
            out.push('.');
            for i in 0..prec {
                let d = dp + i;
                let c = if d < 0 || d >= nd {
                    '0'
                } else {
                    char::from(digits.as_bytes()[d as usize])
                };
                out.push(c);
            }
        }
    }
    out
}

/// go-yaml's timestamp reading (`parseTimestamp`, Go's `time.Parse` with the layouts
/// `2006-1-2T15:4:5.999999999Z07:00`, the same with `t`, `2006-1-2 15:4:5.999999999` and
/// `2006-1-2`), returning the value as Go's JSON encoder writes a `time.Time` (RFC 3339 with
/// nanoseconds, trailing zeros dropped, `Z` for a zero offset).
fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    // go-yaml's quick check: all formats start with YYYY-.
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let year = u32::from(b[0] - b'0') * 1000
        + u32::from(b[1] - b'0') * 100
        + u32::from(b[2] - b'0') * 10
        + u32::from(b[3] - b'0');
    let mut p = Cursor { b, i: 5 };
    let month = p.num()?;
    p.lit(b'-')?;
    let day = p.num()?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in(month, year) {
        return None;
    }
    let mut time = (0, 0, 0, 0u32);
    let mut offset_minutes: i32 = 0;
    if p.i < b.len() {
        let sep = b[p.i];
        let zoned = match sep {
            b'T' | b't' => {
                p.i += 1;
                true
            }
            b' ' => {
                // A space in a Go layout matches one or more spaces.
                while p.i < b.len() && b[p.i] == b' ' {
                    p.i += 1;
                }
                false
            }
            _ => return None,
        };
        let hour = p.num()?;
        p.lit(b':')?;
        let minute = p.num()?;
        p.lit(b':')?;
        let second = p.num()?;
        if hour >= 24 || minute >= 60 || second >= 60 {
            return None;
        }
        let mut nanos = 0;
        if p.i + 1 < b.len() && matches!(b[p.i], b'.' | b',') && b[p.i + 1].is_ascii_digit() {
            p.i += 1;
            let mut n = 0;
            let mut scale = 100_000_000;
            while p.i < b.len() && b[p.i].is_ascii_digit() {
                // Go keeps nine digits and ignores the rest.
                n += u32::from(b[p.i] - b'0') * scale;
                scale /= 10;
                p.i += 1;
            }
            nanos = n;
        }
        time = (hour, minute, second, nanos);
        if zoned {
            match b.get(p.i) {
                Some(b'Z') => p.i += 1,
                Some(&sign @ (b'+' | b'-')) => {
                    let z = b.get(p.i..p.i + 6)?;
                    if z[3] != b':' || !z[1..3].iter().chain(&z[4..6]).all(u8::is_ascii_digit) {
                        return None;
                    }
                    let hh = i32::from(z[1] - b'0') * 10 + i32::from(z[2] - b'0');
                    let mm = i32::from(z[4] - b'0') * 10 + i32::from(z[5] - b'0');
                    if hh > 24 || mm > 60 {
                        return None;
                    }
                    offset_minutes = hh * 60 + mm;
                    if sign == b'-' {
                        offset_minutes = -offset_minutes;
                    }
                    p.i += 6;
                }
                _ => return None,
            }
        }
    }
    if p.i != b.len() {
        return None;
    }
    let (hour, minute, second, nanos) = time;
    let mut out = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    if offset_minutes == 0 {
        out.push('Z');
    } else {
        let m = offset_minutes.unsigned_abs();
        out.push(if offset_minutes < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}:{:02}", m / 60, m % 60));
    }
    Some(out)
}

/// A position in a timestamp being parsed.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// Go's `getnum(s, false)`: one or two digits.
    fn num(&mut self) -> Option<u32> {
        let d0 = *self.b.get(self.i).filter(|c| c.is_ascii_digit())?;
        self.i += 1;
        let mut n = u32::from(d0 - b'0');
        if let Some(&d1) = self.b.get(self.i).filter(|c| c.is_ascii_digit()) {
            n = n * 10 + u32::from(d1 - b'0');
            self.i += 1;
        }
        Some(n)
    }

    fn lit(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// go-yaml v2's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`. Such
/// strings are quoted on output although v2 reads them as strings.
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        // `[0-5]?[0-9]`: one digit, or two with the first in 0..=5.
        match (b.get(i), b.get(i + 1)) {
            (Some(b'0'..=b'5'), Some(b'0'..=b'9')) => i += 2,
            (Some(b'0'..=b'9'), _) => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Whether go-yaml v2's encoder writes the string `s` without quotes (`stringv`): it does when
/// the plain text would read back as the same string under go-yaml v2's YAML 1.1 rules.
fn v2_reads_as_string(s: &str) -> bool {
    matches!(super::resolve_plain(s), Value::Str(_))
        && !(s.as_bytes().first().is_some_and(u8::is_ascii_digit) && parse_timestamp(s).is_some())
        && !is_base60_float(s)
}

/// go-yaml v2's `keyList.Less`, the order of mapping keys in kustomize's output.
///
/// Runes are compared one by one. At the first difference: two letters compare by code point;
/// a letter sorts after a non-letter; otherwise runs of digits starting there compare by
/// numeric value, then the shorter run first, then by code point. A prefix sorts first.
/// (`item9` < `item10` < `item010`, `a-b` < `a.b` < `a1` < `aB` < `ab`.)
#[must_use]
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let mut ai = a.char_indices();
    let mut bi = b.char_indices();
    loop {
        let (pos, ca) = match ai.next() {
            Some(x) => x,
            None => return a.len().cmp(&b.len()),
        };
        let Some((_, cb)) = bi.next() else {
            return a.len().cmp(&b.len());
        };
        if ca == cb {
            continue;
        }
        let (al, bl) = (is_letter(ca), is_letter(cb));
        if al && bl {
            return ca.cmp(&cb);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        // Go's arithmetic is int64 and wraps on overflow; digits are `r - '0'` even for
        // non-ASCII digits.
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ca == '0' || cb == '0' {
            // Inside a number (a non-zero digit earlier in the run), leading zeros count.
            for c in a[..pos].chars().rev() {
                if !is_digit(c) {
                    break;
                }
                if c != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let run = |s: &str, n: &mut i64| -> usize {
            let mut len = 0;
            for c in s[pos..].chars() {
                if !is_digit(c) {
                    break;
                }
                *n = n
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(c as u32) - i64::from(b'0'));
                len += 1;
            }
            len
        };
        let alen = run(a, &mut an);
        let blen = run(b, &mut bn);
        return an.cmp(&bn).then(alen.cmp(&blen)).then_with(|| ca.cmp(&cb));
    }
}

/// The indices of `keys` in [`natural_cmp`] order.
///
/// go-yaml's order is not transitive (`1` < `01` < `0a` < `1`), so for some key sets no sorted
/// order exists and kustomize's output changes from run to run (Go randomises map iteration).
/// The standard library's sorts may panic on such a comparison, so this is a plain merge sort:
/// it never panics, gives the one sorted order whenever the keys have one, and a deterministic
/// order otherwise.
fn natural_order<S: AsRef<str>>(keys: &[S]) -> Vec<usize> {
    let less =
        |a: usize, b: usize| natural_cmp(keys[a].as_ref(), keys[b].as_ref()) == Ordering::Less;
    let mut order: Vec<usize> = (0..keys.len()).collect();
    if order.len() <= 16 {
        // Insertion sort: most mappings are small, and it needs no buffer.
        for i in 1..order.len() {
            let mut j = i;
            while j > 0 && less(order[j], order[j - 1]) {
                order.swap(j, j - 1);
                j -= 1;
            }
        }
        return order;
    }
    let mut buffer = order.clone();
    let mut width = 1;
    while width < order.len() {
        for start in (0..order.len()).step_by(2 * width) {
            let mid = (start + width).min(order.len());
            let end = (start + 2 * width).min(order.len());
            let (mut i, mut j) = (start, mid);
            for slot in &mut buffer[start..end] {
                let take_left = j >= end || (i < mid && !less(order[j], order[i]));
                if take_left {
                    *slot = order[i];
                    i += 1;
                } else {
                    *slot = order[j];
                    j += 1;
                }
            }
        }
        std::mem::swap(&mut order, &mut buffer);
        width *= 2;
    }
    order
}

/// Go's `unicode.IsLetter` (categories L*). Exact for ASCII; beyond it, Rust's alphabetic
/// property minus numbers, which also counts a few combining marks as letters.
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        c.is_alphabetic() && !c.is_numeric()
    }
}

/// Go's `unicode.IsDigit` (category Nd).
fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    let c = c as u32;
    // Unicode 15 Nd ranges beyond ASCII.
    const ND: &[(u32, u32)] = &[
        (0x0660, 0x0669),
        (0x06F0, 0x06F9),
        (0x07C0, 0x07C9),
        (0x0966, 0x096F),
        (0x09E6, 0x09EF),
        (0x0A66, 0x0A6F),
        (0x0AE6, 0x0AEF),
        (0x0B66, 0x0B6F),
        (0x0BE6, 0x0BEF),
        (0x0C66, 0x0C6F),
        (0x0CE6, 0x0CEF),
        (0x0D66, 0x0D6F),
        (0x0DE6, 0x0DEF),
        (0x0E50, 0x0E59),
        (0x0ED0, 0x0ED9),
        (0x0F20, 0x0F29),
        (0x1040, 0x1049),
        (0x1090, 0x1099),
        (0x17E0, 0x17E9),
        (0x1810, 0x1819),
        (0x1946, 0x194F),
        (0x19D0, 0x19D9),
        (0x1A80, 0x1A89),
        (0x1A90, 0x1A99),
        (0x1B50, 0x1B59),
        (0x1BB0, 0x1BB9),
        (0x1C40, 0x1C49),
        (0x1C50, 0x1C59),
        (0xA620, 0xA629),
        (0xA8D0, 0xA8D9),
        (0xA900, 0xA909),
        (0xA9D0, 0xA9D9),
        (0xA9F0, 0xA9F9),
        (0xAA50, 0xAA59),
        (0xABF0, 0xABF9),
        (0xFF10, 0xFF19),
        (0x104A0, 0x104A9),
        (0x10D30, 0x10D39),
        (0x11066, 0x1106F),
        (0x110F0, 0x110F9),
        (0x11136, 0x1113F),
        (0x111D0, 0x111D9),
        (0x112F0, 0x112F9),
        (0x11450, 0x11459),
        (0x114D0, 0x114D9),
        (0x11650, 0x11659),
        (0x116C0, 0x116C9),
        (0x11730, 0x11739),
        (0x118E0, 0x118E9),
        (0x11950, 0x11959),
        (0x11C50, 0x11C59),
        (0x11D50, 0x11D59),
        (0x11DA0, 0x11DA9),
        (0x11F50, 0x11F59),
        (0x16A60, 0x16A69),
        (0x16AC0, 0x16AC9),
        (0x16B50, 0x16B59),
        (0x1D7CE, 0x1D7FF),
        (0x1E140, 0x1E149),
        (0x1E2F0, 0x1E2F9),
        (0x1E4F0, 0x1E4F9),
        (0x1E950, 0x1E959),
        (0x1FBF0, 0x1FBF9),
    ];
    ND.binary_search_by(|&(lo, hi)| {
        if hi < c {
            Ordering::Less
        } else if lo > c {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    })
    .is_ok()
}

/// The scalar styles of libyaml's emitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// Where a node is written (libyaml's `*_context` flags that affect the output).
#[derive(Debug, Clone, Copy, Default)]
struct Context {
    /// The node is a mapping key or value (a sequence there is not indented).
    mapping: bool,
    /// The node is a simple key: never folded, never a block scalar.
    simple_key: bool,
}

impl Context {
    const ROOT: Context = Context {
        mapping: false,
        simple_key: false,
    };
    const ITEM: Context = Context {
        mapping: false,
        simple_key: false,
    };
    const VALUE: Context = Context {
        mapping: true,
        simple_key: false,
    };
}

/// What libyaml's `yaml_emitter_analyze_scalar` finds out about a scalar.
#[derive(Debug, Clone, Copy)]
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// libyaml's printable set: `\n`, ASCII 0x20-0x7E, and the BMP from 0xA0 except surrogates,
/// U+FEFF, U+FFFE and U+FFFF. Tabs, other controls and characters beyond the BMP are not.
pub(crate) fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\x20'..='\x7E' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

pub(crate) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `is_blankz`: blank, break or NUL.
fn is_blankz(c: char) -> bool {
    is_blank(c) || is_break(c) || c == '\0'
}

/// ASCII bytes that, after the first position, neither are indicators nor whitespace, breaks
/// or non-printable characters, so [`analyze`] can skip over them.
const PLAIN_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x21;
    while b < 0x7F {
        table[b] = !matches!(
            b as u8,
            b',' | b'?' | b'[' | b']' | b'{' | b'}' | b':' | b'#'
        );
        b += 1;
    }
    table
};

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let mut flow_indicators = block_indicators;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut preceded_by_whitespace = true;
    let mut previous_space = false;
    let mut previous_break = false;

    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if i > 0 && PLAIN_BYTE[usize::from(bytes[i])] {
            // A run of ASCII characters that change nothing but the "previous character" flags.
            while i < bytes.len() && PLAIN_BYTE[usize::from(bytes[i])] {
                i += 1;
            }
            previous_space = false;
            previous_break = false;
            preceded_by_whitespace = false;
            continue;
        }
        // Decode by hand: most scalars are ASCII, and `chars().peekable()` costs more.
        let (c, width) = if bytes[i] < 0x80 {
            (char::from(bytes[i]), 1)
        } else {
            let c = value[i..].chars().next().unwrap_or('\0');
            (c, c.len_utf8())
        };
        let first = i == 0;
        let last = i + width == bytes.len();
        // Blanks are ASCII, so the next byte tells.
        let followed_by_whitespace = bytes
            .get(i + width)
            .is_none_or(|&b| b == b' ' || b == b'\t');
        i += width;
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    block_indicators |= followed_by_whitespace;
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    block_indicators |= followed_by_whitespace;
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
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
        preceded_by_whitespace = is_blankz(c);
    }

    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// libyaml's emitter state, reduced to what go-yaml v2's encoder can reach: block collections,
/// empty flow collections (`[]`, `{}`), untagged scalars, no anchors.
struct Emitter<'o> {
    out: &'o mut String,
    /// Characters (not bytes) written on the current line.
    column: usize,
    /// The current indentation; `None` before the root collection (libyaml's -1).
    indent: Option<usize>,
    /// The last character written is whitespace (so an indicator needs no leading space).
    whitespace: bool,
    /// Only indentation has been written on the current line so far.
    indention: bool,
    flow_level: usize,
}

impl Emitter<'_> {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// `write_break`: a `\n` is the emitter's line break; other breaks are copied.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.out.push_str(indicator);
        // Indicators are ASCII.
        self.column += indicator.len();
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// `yaml_emitter_increase_indent`; returns the indentation to restore afterwards.
    fn increase_indent(&mut self, flow: bool, indentless: bool) -> Option<usize> {
        let saved = self.indent;
        self.indent = match self.indent {
            None if flow => Some(INDENT),
            None => Some(0),
            Some(i) if !indentless => Some(i + INDENT),
            Some(i) => Some(i),
        };
        saved
    }

    fn node(&mut self, node: &Node, ctx: Context) {
        match &node.kind {
            NodeKind::Scalar(s) => self.value(scalar_value(node.tag.as_deref(), s), ctx),
            NodeKind::Seq(items) => self.sequence(items, ctx),
            NodeKind::Map(entries) => self.mapping(entries, ctx),
        }
    }

    /// go-yaml v2's encoder: picks the text and the requested style for a value.
    fn value(&mut self, value: KustomizeValue<'_>, ctx: Context) {
        match value {
            KustomizeValue::Null => self.scalar("null", Style::Plain, ctx),
            KustomizeValue::Bool(true) => self.scalar("true", Style::Plain, ctx),
            KustomizeValue::Bool(false) => self.scalar("false", Style::Plain, ctx),
            KustomizeValue::Int(i) => self.scalar(&i.to_string(), Style::Plain, ctx),
            KustomizeValue::UInt(u) => self.scalar(&u.to_string(), Style::Plain, ctx),
            KustomizeValue::Float(f) => self.scalar(&float_text(f), Style::Plain, ctx),
            KustomizeValue::Str(s) => self.string(&json_round_trip(&s), ctx),
        }
    }

    /// go-yaml v2's `stringv`: a literal block for multi-line text, plain when the text reads
    /// back as the same string, else double quotes; the emitter may still override.
    fn string(&mut self, s: &str, ctx: Context) {
        let style = if s.contains('\n') {
            Style::Literal
        } else if v2_reads_as_string(s) {
            Style::Plain
        } else {
            Style::DoubleQuoted
        };
        self.scalar(s, style, ctx);
    }

    fn scalar(&mut self, value: &str, requested: Style, ctx: Context) {
        let analysis = analyze(value);
        self.scalar_analyzed(value, &analysis, requested, ctx);
    }

    fn scalar_analyzed(&mut self, value: &str, a: &Analysis, requested: Style, ctx: Context) {
        let style = self.select_style(value, a, requested, ctx);
        let saved = self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(value, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.indent = saved;
    }

    /// `yaml_emitter_select_scalar_style` for untagged, implicit scalars.
    fn select_style(&self, value: &str, a: &Analysis, requested: Style, ctx: Context) -> Style {
        let mut style = requested;
        if ctx.simple_key && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain {
            let plain_allowed = if self.flow_level > 0 {
                a.flow_plain_allowed
            } else {
                a.block_plain_allowed
            };
            if !plain_allowed || (value.is_empty() && (self.flow_level > 0 || ctx.simple_key)) {
                style = Style::SingleQuoted;
            }
        }
        if style == Style::SingleQuoted && !a.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!a.block_allowed || self.flow_level > 0 || ctx.simple_key) {
            style = Style::DoubleQuoted;
        }
        style
    }

    fn sequence(&mut self, items: &[Node], ctx: Context) {
        if items.is_empty() || self.flow_level > 0 {
            self.empty_flow("[", "]");
            return;
        }
        let saved = self.increase_indent(false, ctx.mapping && !self.indention);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::ITEM);
        }
        self.indent = saved;
    }

    fn mapping(&mut self, entries: &[(Node, Node)], _ctx: Context) {
        if entries.is_empty() || self.flow_level > 0 {
            self.empty_flow("{", "}");
            return;
        }
        let keys: Vec<Cow<'_, str>> = entries
            .iter()
            .map(|(k, _)| json_round_trip(key_text(k)))
            .collect();
        let order = natural_order(&keys);
        let saved = self.increase_indent(false, false);
        for i in order {
            let key = keys[i].as_ref();
            let value = &entries[i].1;
            self.write_indent();
            let a = analyze(key);
            // Keys are strings after the JSON round trip.
            let style = if key.contains('\n') {
                Style::Literal
            } else if v2_reads_as_string(key) {
                Style::Plain
            } else {
                Style::DoubleQuoted
            };
            if !a.multiline && key.len() <= MAX_SIMPLE_KEY {
                let ctx = Context {
                    mapping: true,
                    simple_key: true,
                };
                self.scalar_analyzed(key, &a, style, ctx);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.scalar_analyzed(key, &a, style, Context::VALUE);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, Context::VALUE);
        }
        self.indent = saved;
    }

    /// An empty collection, which libyaml always writes in flow style. go-yaml v2 never asks for
    /// flow style otherwise, so a non-empty flow collection cannot occur.
    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        // Fast path: a plain scalar has no breaks, so when it cannot reach past the fold column
        // at any space (bytes bound characters from above) it is copied as is.
        if !allow_breaks || self.column + value.len() <= WIDTH + 1 {
            self.out.push_str(value);
            self.column += char_count(value);
            self.whitespace = false;
            self.indention = false;
            return;
        }
        self.write_folding(value, allow_breaks, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        self.write_folding(value, allow_breaks, true);
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// The body of a plain or single-quoted scalar, as libyaml writes both: a space past the
    /// fold column becomes a line break (never inside a run of spaces, and for a quoted
    /// scalar never at its first or last character), breaks are written out, and a quoted
    /// scalar doubles its `'`.
    fn write_folding(&mut self, value: &str, allow_breaks: bool, quoted: bool) {
        let mut spaces = false;
        let mut breaks = false;
        let mut chars = value.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == ' ' {
                let next = chars.peek().map(|&(_, n)| n);
                let inside = !quoted || (i > 0 && i + 1 < value.len());
                if allow_breaks && !spaces && self.column > WIDTH && inside && next != Some(' ') {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if quoted && c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
    }

    fn write_double_quoted(&mut self, value: &str, allow_breaks: bool) {
        // libyaml's `is_bom(value, i)` looks at the start of the whole value, so a value that
        // starts with U+FEFF has every character escaped.
        let bom = value.starts_with('\u{FEFF}');
        self.write_indicator("\"", true, false, false);
        let mut spaces = false;
        let mut chars = value.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if !is_printable(c) || bom || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\x07' => self.put('a'),
                    '\x08' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\x0B' => self.put('v'),
                    '\x0C' => self.put('f'),
                    '\r' => self.put('r'),
                    '\x1B' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{A0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let v = c as u32;
                        let (letter, width) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for k in (0..width).rev() {
                            let digit = (v >> (k * 4)) & 0xF;
                            self.put(
                                char::from_digit(digit, 16).map_or('0', |d| d.to_ascii_uppercase()),
                            );
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > WIDTH && i > 0 && i + 1 < value.len() {
                    self.write_indent();
                    if chars.peek().map(|&(_, n)| n) == Some(' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation indicator when the text starts with a space or a
        // break, and the chomping indicator from the trailing breaks.
        if value.starts_with(|c: char| c == ' ' || is_break(c)) {
            self.write_indicator("2", false, false, false);
        }
        let mut rev = value.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (None, _) => Some("-"),
            (Some(last), _) if !is_break(last) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(before)) if is_break(before) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        if !value.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}']) {
            // Fast path: only `\n` breaks, so copy line by line. Empty lines get no indentation.
            for line in value.split_inclusive('\n') {
                let text = line.strip_suffix('\n').unwrap_or(line);
                if !text.is_empty() {
                    self.write_indent();
                    self.out.push_str(text);
                    self.column += char_count(text);
                    self.indention = false;
                }
                if line.len() > text.len() {
                    self.put_break();
                    self.indention = true;
                }
            }
            return;
        }
        let mut breaks = true;
        for c in value.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
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

/// What a string becomes after Go's JSON encoder and go-yaml v2's reader.
///
/// Go's encoder escapes every break but U+0085 (NEL), which YAML 1.1 reads as a line break
/// inside the double-quoted JSON string and folds: blanks around a run of NELs are dropped, one
/// NEL becomes a space, `n` NELs become `n - 1` newlines. Everything else comes back unchanged.
fn json_round_trip(s: &str) -> Cow<'_, str> {
    if !s.contains('\u{85}') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != ' ' && c != '\u{85}' {
            out.push(c);
            continue;
        }
        let mut spaces = usize::from(c == ' ');
        let mut nels = usize::from(c == '\u{85}');
        while let Some(&n) = chars.peek() {
            match n {
                ' ' if nels == 0 => spaces += 1,
                ' ' => {}
                '\u{85}' => nels += 1,
                _ => break,
            }
            chars.next();
        }
        match nels {
            0 => out.extend(std::iter::repeat_n(' ', spaces)),
            1 => out.push(' '),
            n => out.extend(std::iter::repeat_n('\n', n - 1)),
        }
    }
    Cow::Owned(out)
}

/// The number of characters of `s` (the emitter's columns count characters).
fn char_count(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// The JSON key a mapping key becomes: its text. (kustomize fails on keys that are not
/// strings below the top level; the parser refuses collection keys.)
fn key_text(key: &Node) -> &str {
    key.as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_documents;

    /// Parses `input`, emits every document and compares with `expected`.
    fn check(input: &str, expected: &str) {
        let docs = parse_documents(input).expect("test input parses");
        let roots: Vec<&Node> = docs.iter().map(|d| &d.root).collect();
        let got = emit_documents(&roots);
        assert_eq!(got, expected, "input:\n{input}");
    }

    /// Inputs and what `kubectl kustomize` (kustomize v5.5.0) printed for them (the resource's
    /// `apiVersion`, `kind` and `metadata`, which sort before `v`, cut off).
    #[test]
    fn prints_like_kustomize() {
        let cases: &[(&str, &str)] = &[
            // keys re-sorted in go-yaml v2's natural order, at every depth.
            (
                r#"v:
  b: 1
  a: {z: 1, y: 2}
  item10: x
  item9: x
  item09: x
  _z: x
  Zz: x
  a_b: x
  aB: x
  x.1: x
  x-1: x
  "10": x
  "9": x
"#,
                r#"v:
  _z: x
  "9": x
  "10": x
  Zz: x
  a:
    "y": 2
    z: 1
  a_b: x
  aB: x
  b: 1
  item9: x
  item09: x
  item10: x
  x-1: x
  x.1: x
"#,
            ),
            // sequences are not indented under their key; nested sequences and maps in items.
            (
                r#"v:
  list:
    - a
    - [b, c]
    - {k: v, j: w}
    - - d
  items: [{name: a, ports: [80, 443]}]
"#,
                r#"v:
  items:
  - name: a
    ports:
    - 80
    - 443
  list:
  - a
  - - b
    - c
  - j: w
    k: v
  - - d
"#,
            ),
            // empty collections stay in flow style; null and empty values print null.
            (
                r#"v:
  m: {}
  l: []
  n: ~
  e:
  nested: [{}, []]
"#,
                r#"v:
  e: null
  l: []
  m: {}
  "n": null
  nested:
  - {}
  - []
"#,
            ),
            // YAML 1.1 words and numbers as strings are double-quoted.
            (
                r#"v: ["yes", "no", "on", "off", "y", "N", "true", "null", "~", "", "123", "1.0", "0755", "1e3", ".5", "+1", "1_000", "0x1F", "1:20", "2001-12-14", ".inf"]
"#,
                r#"v:
- "yes"
- "no"
- "on"
- "off"
- "y"
- "N"
- "true"
- "null"
- "~"
- ""
- "123"
- "1.0"
- "0755"
- "1e3"
- ".5"
- "+1"
- "1_000"
- "0x1F"
- "1:20"
- "2001-12-14"
- ".inf"
"#,
            ),
            // strings needing quotes only for syntax are single-quoted.
            (
                "v: [\" lead\", \"trail \", \"a:\", \"a: b\", \"a #b\", \"- x\", \"? x\", \"&x\", \"*x\", \"!x\", \"[x\", \"{x\", \"@x\", \"%x\", \"|x\", \">x\", \"`x\", \"#x\", \",x\", \"---\", \"'q'\", \"\\\"q\\\"\"]\n",
                r#"v:
- ' lead'
- 'trail '
- 'a:'
- 'a: b'
- 'a #b'
- '- x'
- '? x'
- '&x'
- '*x'
- '!x'
- '[x'
- '{x'
- '@x'
- '%x'
- '|x'
- '>x'
- '`x'
- '#x'
- ',x'
- '---'
- '''q'''
- '"q"'
"#,
            ),
            // indicator characters that plain scalars allow stay plain.
            (
                r#"v: ["a:b", "a#b", "?x", ":x", "-x", ".", "<<", "=", "say \"hi\"", "it's", "x,y", "http://a/b?c=d#e", "1.2.3", "08", "0x", "1e", "2024-01-01T10:00:00"]
"#,
                r#"v:
- a:b
- a#b
- ?x
- :x
- -x
- .
- <<
- =
- say "hi"
- it's
- x,y
- http://a/b?c=d#e
- 1.2.3
- "08"
- 0x
- 1e
- 2024-01-01T10:00:00
"#,
            ),
            // go-yaml v3 reading: YAML 1.1 booleans are strings, octal and hex are integers.
            (
                r#"v: [yes, no, on, Off, y, True, FALSE, NULL, ~, 0755, 0o17, 0x1f, 0b11, -0b11, +12, 1_000, 08]
"#,
                r#"v:
- "yes"
- "no"
- "on"
- "Off"
- "y"
- true
- false
- null
- null
- 493
- 15
- 31
- 3
- -3
- 12
- 1000
- 8
"#,
            ),
            // floats: integral values print as integers, others as Go's %g.
            (
                r#"v: [1.0, 1.50, 1e3, .5, -.5, 1.0e+3, 1234567.5, 123456.7, 1e20, 1e19, 1e21, 1.5e-7, 0.0001, 0.00001, -0.0, 3.14159265358979323846, 9007199254740993, 18446744073709551615, 18446744073709551616, -9223372036854775809, 123456789012345678901234]
"#,
                r#"v:
- 1
- 1.5
- 1000
- 0.5
- -0.5
- 1000
- 1.2345675e+06
- 123456.7
- 1e+20
- 10000000000000000000
- 1e+21
- 1.5e-07
- 0.0001
- 1e-05
- 0
- 3.141592653589793
- 9007199254740993
- 18446744073709551615
- 1.8446744073709552e+19
- -9.223372036854776e+18
- 1.2345678901234569e+23
"#,
            ),
            // unquoted timestamps become RFC 3339 strings; other date-like text stays.
            (
                r#"v:
- 2001-12-14
- 2001-1-2
- 2001-12-14t21:59:43.10-05:00
- 2001-12-14 21:59:43.10
- 2001-12-14T21:59:43+00:00
- 2001-2-3T1:2:3.123456789123Z
- 2001-12-14T21:59:43,5Z
- 2001-12-14  21:59:43
- 2024-02-29
- 2023-02-29
- 2001-12-14T24:00:00Z
- 2024-01-01T10:00:00
- 2001-12-14 21:59:43.10 -5
"#,
                r#"v:
- "2001-12-14T00:00:00Z"
- "2001-01-02T00:00:00Z"
- "2001-12-14T21:59:43.1-05:00"
- "2001-12-14T21:59:43.1Z"
- "2001-12-14T21:59:43Z"
- "2001-02-03T01:02:03.123456789Z"
- "2001-12-14T21:59:43.5Z"
- "2001-12-14T21:59:43Z"
- "2024-02-29T00:00:00Z"
- 2023-02-29
- 2001-12-14T24:00:00Z
- 2024-01-01T10:00:00
- 2001-12-14 21:59:43.10 -5
"#,
            ),
            // explicit tags decide the type.
            (
                r#"v:
  a: !!str 123
  b: !!int "12"
  c: !!float 1
  d: !!bool "true"
  e: !!null ""
  f: !!timestamp "2001-12-14"
  g: !custom 123
  h: ! 123
  i: !!str yes
  j: !!str
  k: !!binary aGVsbG8=
  l: !!binary /w==
"#,
                r#"v:
  a: "123"
  b: 12
  c: 1
  d: true
  e: null
  f: "2001-12-14T00:00:00Z"
  g: "123"
  h: 123
  i: "yes"
  j: ""
  k: hello
  l: �
"#,
            ),
            // literal block scalars: clip, strip and keep chomping.
            (
                r#"v:
  clip: |
    a
    b
  strip: |-
    a
    b
  keep: |+
    a

  folded: >
    a
    b

    c
"#,
                r#"v:
  clip: |
    a
    b
  folded: |
    a b
    c
  keep: |+
    a

  strip: |-
    a
    b
"#,
            ),
            // an indentation indicator when the text starts with a space or a break.
            (
                r#"v:
  space: " a\nb"
  break: "\nb"
  only: "\n"
  keep: "a\n\n\n"
  lead2: "  two\nx"
"#,
                r#"v:
  break: |2-

    b
  keep: |+
    a


  lead2: |2-
      two
    x
  only: |2+

  space: |2-
     a
    b
"#,
            ),
            // multi-line text that a block scalar cannot hold is double-quoted.
            (
                r#"v:
  spacebreak: "a \nb"
  trailing: "x\n "
  tab: "a\tb\nc"
  cr: "x\r\ny"
  endspace: "ends with space \n"
"#,
                r#"v:
  cr: "x\r\ny"
  endspace: "ends with space \n"
  spacebreak: "a \nb"
  tab: "a\tb\nc"
  trailing: "x\n "
"#,
            ),
            // a break followed by a space forbids single quotes, not block scalars.
            (
                r#"v: "line\n trailing"
"#,
                r#"v: |-
  line
   trailing
"#,
            ),
            // plain scalars fold at the first space past column 80, indented 2 deeper than the key.
            (
                r#"v:
  text: The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog. The quick brown fox.
  deep: {er: {est: The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog again.}}
  item: [The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog again.]
"#,
                r#"v:
  deep:
    er:
      est: The quick brown fox jumps over the lazy dog. The quick brown fox jumps
        over the lazy dog again.
  item:
  - The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the
    lazy dog again.
  text: The quick brown fox jumps over the lazy dog. The quick brown fox jumps over
    the lazy dog. The quick brown fox.
"#,
            ),
            // no fold inside a run of spaces or in a single long word.
            (
                r#"v:
  spaces: "word  double  spaces  everywhere  in  this  long  line  of  text  that  goes  past  eighty  columns  for  sure"
  word: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbb
"#,
                r#"v:
  spaces: word  double  spaces  everywhere  in  this  long  line  of  text  that  goes  past  eighty  columns  for  sure
  word: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    bbb
"#,
            ),
            // quoted scalars fold too; a double-quoted fold before a space escapes it.
            (
                r#"v:
  single: 'The quick brown fox jumps over the lazy dog: The quick brown fox jumps over the lazy dog. The quick brown fox'
  double: "word  double  spaces  everywhere  in  this  long  line  of  text  that  goes  past  eighty\t columns  for  sure"
  lead: " leading space then a long line of text that should be folded at some point past column eighty ok"
"#,
                r#"v:
  double: "word  double  spaces  everywhere  in  this  long  line  of  text  that
    \ goes  past  eighty\t columns  for  sure"
  lead: ' leading space then a long line of text that should be folded at some point
    past column eighty ok'
  single: 'The quick brown fox jumps over the lazy dog: The quick brown fox jumps
    over the lazy dog. The quick brown fox'
"#,
            ),
            // literal blocks are never folded.
            (
                r#"v: |
  The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog. The quick brown fox.
"#,
                r#"v: |
  The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog. The quick brown fox.
"#,
            ),
            // columns count characters, not bytes.
            (
                r#"v: ["ünïcödé wörds ünïcödé wörds ünïcödé wörds ünïcödé wörds ünïcödé wörds ünïcödé wörds ünïcödé wörds", "日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語"]
"#,
                r#"v:
- ünïcödé wörds ünïcödé wörds ünïcödé wörds ünïcödé wörds ünïcödé wörds ünïcödé wörds
  ünïcödé wörds
- 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語 日本語
  日本語 日本語 日本語
"#,
            ),
            // escapes: controls, non-BMP, BOM; no-break space and BMP text raw.
            (
                r#"v: ["tab\there", "x \U0001F600 y", "nbsp\u00a0here", "café", "\ufeffab", "a\\b", "bell\a", "\u0001", "esc\e"]
"#,
                r#"v:
- "tab\there"
- "x \U0001F600 y"
- nbsp here
- café
- "\uFEFF\x61\x62"
- a\b
- "bell\a"
- "\x01"
- "esc\e"
"#,
            ),
            // U+0085 in a string is folded by the JSON round trip.
            (
                r#"v: ["a\u0085b", "a \u0085 b", "a\u0085\u0085b", "\u0085", "x \u0085", "a\u0085\nb"]
"#,
                r#"v:
- a b
- a b
- |-
  a
  b
- ' '
- 'x '
- "a \nb"
"#,
            ),
            // keys are quoted like values.
            (
                r#"v:
  "": empty
  "1": one
  "true": t
  "yes": y
  "n": n
  "null": x
  "key: colon": x
  "key #hash": x
  "- dash": x
  " lead": x
  "trail ": x
  "tab\tkey": x
  "=": x
  "~": x
  é: x
"#,
                r#"v:
  "": empty
  ' lead': x
  '- dash': x
  =: x
  "~": x
  "1": one
  'key #hash': x
  'key: colon': x
  "n": "n"
  "null": x
  "tab\tkey": x
  'trail ': x
  "true": t
  "yes": "y"
  é: x
"#,
            ),
            // keys longer than 128 bytes use the explicit form.
            (
                r#"v:
  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa128: exactly 128
  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa129: [129, long]
  bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb129: {m: 1}
  "c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c ": scalar
"#,
                r#"v:
  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa128: exactly
    128
  ? aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa129
  : - 129
    - long
  ? bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb129
  : m: 1
  ? 'c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
    c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c '
  : scalar
"#,
            ),
            // multi-line keys use the explicit form with a block scalar.
            (
                r#"v:
  ? "multi\nline key"
  : v
  ? "multi\nline key2"
  : {a: 1}
"#,
                r#"v:
  ? |-
    multi
    line key
  : v
  ? |-
    multi
    line key2
  : a: 1
"#,
            ),
            // anchors and aliases are expanded; comments and flow style are dropped.
            (
                r#"v: # comment
  base: &b {k: v, n: 1}  # trailing
  copy: *b
  flow: {a: [1, 2], b: {c: d}}
"#,
                r#"v:
  base:
    k: v
    "n": 1
  copy:
    k: v
    "n": 1
  flow:
    a:
    - 1
    - 2
    b:
      c: d
"#,
            ),
        ];
        for (input, expected) in cases {
            check(input, expected);
        }
    }

    #[test]
    fn documents_are_joined_by_separator_lines() {
        check("a: 1\n---\nb: 2\n", "a: 1\n---\nb: 2\n");
        check("", "");
        let doc = parse_documents("k: |\n  x\n").expect("parses");
        assert_eq!(emit_node(&doc[0].root), "k: |\n  x\n");
        let mut out = String::from("# head\n");
        emit_node_into(&mut out, &doc[0].root);
        assert_eq!(out, "# head\nk: |\n  x\n");
    }

    #[test]
    fn natural_order_of_keys() {
        // The order listed in the corpus notes, observed with kustomize v5.5.0.
        let sorted = [
            "_z", "1", "9", "10", "A", "Zz", "a", "a_b", "aB", "item9", "item09", "item009",
            "item10", "v1.2.9", "v1.2.10", "x-1", "x.1", "xZ", "xa", "\u{e9}",
        ];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate() {
                assert_eq!(natural_cmp(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
        let mut shuffled: Vec<&str> = sorted.iter().rev().copied().collect();
        shuffled.swap(3, 11);
        let order = natural_order(&shuffled);
        let got: Vec<&str> = order.iter().map(|&i| shuffled[i]).collect();
        assert_eq!(got, sorted);
        // Long digit runs wrap like Go's int64 arithmetic.
        assert_eq!(natural_cmp("123456789012345678901", "a"), Ordering::Less);
        assert_eq!(natural_cmp("\u{663}", "\u{662}"), Ordering::Greater);
    }

    #[test]
    fn intransitive_keys_sort_without_panicking() {
        // `1` < `01` < `0a` < `1`: go-yaml's order has no answer, kustomize's output varies
        // from run to run; kiln must still give one answer, and never panic.
        let mut keys: Vec<String> = Vec::new();
        for a in [
            "1", "01", "0a", "b7", "b15", "b1o", "item95", "item914", "item91o",
        ] {
            for n in 0..4 {
                keys.push(format!("{a}{n}"));
                keys.push(a.to_owned() + &"0".repeat(n));
            }
        }
        let first = natural_order(&keys);
        let mut sorted = first.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..keys.len()).collect::<Vec<_>>());
        assert_eq!(natural_order(&keys), first);
        let small = ["1", "01", "0a"];
        assert_eq!(natural_order(&small).len(), 3);
    }

    #[test]
    fn values_as_kustomize_reads_them() {
        let value = |text: &str| {
            let docs = parse_documents(&format!("k: {text}\n")).expect("parses");
            let v = docs[0].root.get("k").expect("has k");
            let NodeKind::Scalar(s) = &v.kind else {
                panic!("not a scalar")
            };
            match scalar_value(v.tag.as_deref(), s) {
                KustomizeValue::Null => KustomizeValue::Null,
                KustomizeValue::Bool(b) => KustomizeValue::Bool(b),
                KustomizeValue::Int(i) => KustomizeValue::Int(i),
                KustomizeValue::UInt(u) => KustomizeValue::UInt(u),
                KustomizeValue::Float(f) => KustomizeValue::Float(f),
                KustomizeValue::Str(s) => KustomizeValue::Str(Cow::Owned(s.into_owned())),
            }
        };
        let text = |s: &str| KustomizeValue::Str(Cow::Owned(s.to_owned()));
        assert_eq!(value("yes"), text("yes"));
        assert_eq!(value("True"), KustomizeValue::Bool(true));
        assert_eq!(value("0755"), KustomizeValue::Int(493));
        assert_eq!(value("'0755'"), text("0755"));
        assert_eq!(
            value("18446744073709551615"),
            KustomizeValue::UInt(u64::MAX)
        );
        assert_eq!(value("1.5"), KustomizeValue::Float(1.5));
        assert_eq!(value("~"), KustomizeValue::Null);
        assert_eq!(value("2001-12-14"), text("2001-12-14T00:00:00Z"));
        assert_eq!(value("!!float 2"), KustomizeValue::Float(2.0));
        assert_eq!(value("!!binary aGk="), text("hi"));
        assert_eq!(value("!!binary not-base64"), text("not-base64"));
    }

    #[test]
    fn float_texts() {
        for (f, want) in [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-3.0, "-3"),
            (0.5, "0.5"),
            (100_000.5, "100000.5"),
            (1_234_567.5, "1.2345675e+06"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e19, "10000000000000000000"),
            (1e20, "1e+20"),
            // JSON writes the shortest digits padded with zeros (`-9223372036854776000`), which
            // no longer fits an int64.
            (-9.223_372_036_854_776e18, "-9.223372036854776e+18"),
            (-1e18, "-1000000000000000000"),
            (-1e19, "-1e+19"),
            (1.5e300, "1.5e+300"),
            (f64::INFINITY, ".inf"),
            (f64::NEG_INFINITY, "-.inf"),
            (f64::NAN, ".nan"),
        ] {
            assert_eq!(float_text(f), want, "{f:e}");
        }
    }

    #[test]
    fn what_kustomize_refuses_to_print() {
        let first = |text: &str| {
            let docs = parse_documents(text).expect("parses");
            match check_printable(&docs[0].root) {
                Ok(()) => "ok".to_owned(),
                Err(Unprintable::NonFiniteFloat(n)) => format!("float {}", n.span.line),
                Err(Unprintable::NonStringKey(n)) => format!("key {}", n.span.line),
                Err(Unprintable::ControlCharacter(n, c)) => {
                    format!("control {:x} {}", c as u32, n.span.line)
                }
                Err(Unprintable::BreakInKey(n)) => format!("break {}", n.span.line),
            }
        };
        assert_eq!(first("a: 1\nb: [x, {\"1\": y, yes: z}]\n"), "ok");
        // Top-level keys are read into a `map[string]interface{}`, so any text will do.
        assert_eq!(first("1: x\ntrue: y\n2001-01-01: z\n"), "ok");
        assert_eq!(first("a:\n  b: .inf\n"), "float 2");
        assert_eq!(first("a:\n  1: x\n"), "key 2");
        assert_eq!(first("a:\n- 2001-01-01: x\n"), "key 2");
        assert_eq!(first("a:\n  ! 1: x\n"), "key 2");
        assert_eq!(first("a:\n  !!str 1: x\n"), "ok");
        assert_eq!(first("a: \"x\\x7fy\"\n"), "control 7f 1");
        assert_eq!(first("a: \"x\\u0085y\"\n"), "ok");
        assert_eq!(first("a:\n  \"x\\u0085y\": 1\n"), "break 2");
        assert_eq!(first("a: \"\\uFFFE\"\n"), "control fffe 1");
    }

    #[test]
    fn deep_nesting_fits_a_small_stack() {
        // The parser accepts up to 1,000 levels; emitting them must not overflow a worker
        // thread's stack.
        let text = "- ".repeat(990) + "[]\n";
        let docs = parse_documents(&text).expect("parses");
        let out = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || emit_node(&docs[0].root))
            .expect("thread starts")
            .join()
            .expect("no overflow");
        assert!(out.starts_with("- - - "), "{}", &out[..20]);
        assert!(out.ends_with("[]\n"));
    }
}
