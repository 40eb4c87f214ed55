//! A small reader for EDN, the notation Jepsen and Knossos write histories in: maps, vectors,
//! lists, sets, keywords, strings, numbers, `nil`, booleans, symbols and tagged values, read
//! into JSON values. Values JSON has no word for are kept apart from every other value as
//! one-entry objects whose key begins with `#` (no EDN map key reads so): a keyword `:x` is
//! `{"#kw": "x"}` (never the string `"x"`), a symbol `x` is `{"#sym": "x"}`, an integer beyond 64
//! bits is `{"#int": "123..."}` with every digit kept. A map's keys are the names of keyword
//! keys (`:type` is `type`) and the `show` text of any other key. Sets and lists become arrays; a
//! tag is dropped and its value kept (`#jepsen.history.Op{...}` is its map); `#_` discards the
//! value after it; `##NaN`, `##Inf` and `##-Inf` are read as those words. Nesting, through any
//! mix of collections, tags and discards, is bounded, so no input can exhaust the stack, and
//! positions are counted forward once, so reading is linear in the text.

use serde_json::{Map, Number, Value as Json};

/// The key of an EDN keyword kept as JSON (`{"#kw": "x"}`).
pub const KEYWORD: &str = "#kw";
/// The key of an EDN symbol kept as JSON (`{"#sym": "x"}`).
pub const SYMBOL: &str = "#sym";
/// The key of an integer beyond 64 bits kept as JSON (`{"#int": "123..."}`).
pub const BIG_INT: &str = "#int";

/// The JSON a keyword `:name` reads as.
pub fn keyword(name: &str) -> Json {
    let mut m = Map::new();
    m.insert(KEYWORD.into(), Json::String(name.into()));
    Json::Object(m)
}

/// The one-entry wrapper `v` is, if it is one: (`#kw`, `#sym` or `#int`, its text).
pub fn wrapped(v: &Json) -> Option<(&'static str, &str)> {
    let Json::Object(m) = v else { return None };
    if m.len() != 1 {
        return None;
    }
    let (k, inner) = m.iter().next()?;
    let tag = [KEYWORD, SYMBOL, BIG_INT].into_iter().find(|t| t == k)?;
    Some((tag, inner.as_str()?))
}

/// The `[f key value]` steps of a transaction's value (Jepsen's `:txn`), each as its three
/// parts or, in its turn, the error of a step of another shape; `example` is a step to show.
pub fn txn_steps<'a>(
    value: &'a Json,
    example: &'static str,
) -> Result<impl ExactSizeIterator<Item = Result<&'a [Json], String>> + 'a, String> {
    let Json::Array(steps) = value else {
        return Err(format!(
            "a transaction is a list of [f key value] steps, not {}",
            show(value)
        ));
    };
    Ok(steps.iter().map(move |step| match step {
        Json::Array(p) if p.len() == 3 => Ok(p.as_slice()),
        other => Err(format!(
            "a transaction step is [f key value] (e.g. {example}), not {}",
            show(other)
        )),
    }))
}

/// The name of a keyword, symbol or string (`:read`, `read` and `"read"` are all `read`): how
/// an operation's `:type` and `:f` are read. `None` for any other value.
pub fn name_of(v: &Json) -> Option<&str> {
    match v {
        Json::String(s) => Some(s),
        other => match wrapped(other) {
            Some((KEYWORD | SYMBOL, name)) => Some(name),
            _ => None,
        },
    }
}

/// A value as text, different for every two different values (a keyword `:x`, a string
/// `"x"`, a symbol `x`, an integer of any size as its digits; JSON's own values as JSON).
pub fn show(v: &Json) -> String {
    let mut out = String::new();
    show_into(v, &mut out);
    out
}

fn show_into(v: &Json, out: &mut String) {
    match v {
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                show_into(item, out);
            }
            out.push(']');
        }
        Json::Object(m) => match wrapped(v) {
            Some((KEYWORD, name)) => {
                out.push(':');
                out.push_str(name);
            }
            // A symbol reads bare, except where it would read as a literal.
            Some((SYMBOL, name)) if matches!(name, "null" | "true" | "false") => {
                out.push('\'');
                out.push_str(name);
            }
            Some((_, text)) => out.push_str(text),
            None => {
                out.push('{');
                for (i, (k, item)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Json::String(k.clone()).to_string());
                    out.push(':');
                    show_into(item, out);
                }
                out.push('}');
            }
        },
        other => out.push_str(&other.to_string()),
    }
}

/// The key a map entry is stored under: a keyword's name (`:x` is `x`), else the value's
/// `show` text (`"x"` is `"\"x\""`, `1` is `1`).
pub fn map_key(k: &Json) -> String {
    match wrapped(k) {
        Some((KEYWORD, name)) => name.to_string(),
        _ => show(k),
    }
}

/// Where a read failed: 1-based line and column, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdnError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What went wrong.
    pub message: String,
}

/// Reads EDN values one after another.
pub struct Reader<'a> {
    text: &'a [u8],
    pos: usize,
    depth: usize,
    /// The last position asked for, with its line and column, so asking in order costs only
    /// the bytes between.
    line_at: std::cell::Cell<(usize, usize, usize)>,
}

/// Deepest nesting read (a history is a few levels deep): collections, tags and discards
/// each count a level.
const MAX_DEPTH: usize = 128;

impl<'a> Reader<'a> {
    /// A reader over `text` (a leading byte order mark is skipped).
    pub fn new(text: &'a str) -> Self {
        Reader {
            text: text.strip_prefix('\u{feff}').unwrap_or(text).as_bytes(),
            pos: 0,
            depth: 0,
            line_at: std::cell::Cell::new((0, 1, 1)),
        }
    }

    /// Line and column (1-based, in characters) of byte `pos`. Asked in increasing order (as a
    /// reader reading forward does), each call counts only the bytes since the last.
    pub fn position(&self, pos: usize) -> (usize, usize) {
        let pos = pos.min(self.text.len());
        let (mut at, mut line, mut col) = match self.line_at.get() {
            (at, line, col) if at <= pos => (at, line, col),
            _ => (0, 1, 1),
        };
        for &b in &self.text[at..pos] {
            if b == b'\n' {
                line += 1;
                col = 1;
            } else if b & 0xC0 != 0x80 {
                // Each character counts once: UTF-8 continuation bytes are not new columns.
                col += 1;
            }
        }
        at = pos;
        self.line_at.set((at, line, col));
        (line, col)
    }

    /// The byte offset the next value starts at (after whitespace and comments).
    pub fn offset(&mut self) -> usize {
        self.skip();
        self.pos
    }

    fn error(&self, message: impl Into<String>) -> EdnError {
        let (line, col) = self.position(self.pos);
        EdnError {
            line,
            col,
            message: message.into(),
        }
    }

    fn skip(&mut self) {
        while let Some(&b) = self.text.get(self.pos) {
            if b.is_ascii_whitespace() || b == b',' {
                self.pos += 1;
            } else if b == b';' {
                while self.text.get(self.pos).is_some_and(|&b| b != b'\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// The next value, or `None` at the end of the text.
    pub fn next_value(&mut self) -> Result<Option<Json>, EdnError> {
        self.skip_discarded()?;
        if self.pos >= self.text.len() {
            return Ok(None);
        }
        self.value().map(Some)
    }

    /// Skips whitespace, comments and `#_`-discarded values, so that what follows is a value,
    /// a closing bracket or the end (`[1 #_ 2]` is `[1]`).
    fn skip_discarded(&mut self) -> Result<(), EdnError> {
        loop {
            self.skip();
            if !self.text[self.pos.min(self.text.len())..].starts_with(b"#_") {
                return Ok(());
            }
            self.pos += 2;
            self.value()?;
        }
    }

    /// One value, at one more level of nesting than its caller.
    fn value(&mut self) -> Result<Json, EdnError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let v = self.value_here();
        self.depth -= 1;
        v
    }

    fn value_here(&mut self) -> Result<Json, EdnError> {
        self.skip_discarded()?;
        let Some(&b) = self.text.get(self.pos) else {
            return Err(self.error("the text ends where a value was expected"));
        };
        match b {
            b'{' => {
                self.pos += 1;
                self.map()
            }
            b'[' => {
                self.pos += 1;
                self.sequence(b']').map(Json::Array)
            }
            b'(' => {
                self.pos += 1;
                self.sequence(b')').map(Json::Array)
            }
            b'#' => match self.text.get(self.pos + 1) {
                Some(b'{') => {
                    self.pos += 2;
                    self.sequence(b'}').map(Json::Array)
                }
                Some(b'#') => {
                    // `##NaN`, `##Inf`, `##-Inf`: JSON has no such numbers; kept as words.
                    let start = self.pos;
                    self.pos += 2;
                    match self.token() {
                        "NaN" => Ok(Json::String("NaN".into())),
                        "Inf" => Ok(Json::String("Inf".into())),
                        "-Inf" => Ok(Json::String("-Inf".into())),
                        other => {
                            let other = other.to_string();
                            self.pos = start;
                            Err(self.error(format!(
                                "unknown symbolic value `##{other}`; EDN has ##NaN, ##Inf and ##-Inf"
                            )))
                        }
                    }
                }
                _ => {
                    // A tagged value (`#inst "..."`, `#jepsen.history.Op{...}`): keep the value.
                    self.pos += 1;
                    self.token();
                    self.value()
                }
            },
            b'"' => self.string(),
            b')' | b']' | b'}' => Err(self.error(format!("unexpected `{}`", b as char))),
            _ => {
                let start = self.pos;
                let tok = self.token();
                if tok.is_empty() {
                    self.pos = start;
                    return Err(self.error(format!("unexpected `{}`", b as char)));
                }
                if tok.starts_with(":#") {
                    self.pos = start;
                    return Err(self.error(format!(
                        "`{tok}` is not a keyword: a keyword's name cannot begin with `#`"
                    )));
                }
                Ok(atom(tok))
            }
        }
    }

    /// Reads a whole history's values one by one with their positions: each top-level value,
    /// and each element of a top-level vector or list (a history written as one vector), is
    /// given to `each` with the line and column it starts at.
    pub fn each_top_level(
        &mut self,
        mut each: impl FnMut(Json, usize, usize) -> Result<(), EdnError>,
    ) -> Result<(), EdnError> {
        loop {
            self.skip_discarded()?;
            let Some(&b) = self.text.get(self.pos) else {
                return Ok(());
            };
            let close = match b {
                b'[' => b']',
                b'(' => b')',
                _ => {
                    let (line, col) = self.position(self.pos);
                    let v = self.value()?;
                    each(v, line, col)?;
                    continue;
                }
            };
            self.pos += 1;
            self.depth += 1;
            loop {
                self.skip_discarded()?;
                match self.text.get(self.pos) {
                    None => {
                        return Err(self.error(format!(
                            "the text ends before the closing `{}`",
                            close as char
                        )))
                    }
                    Some(&c) if c == close => {
                        self.pos += 1;
                        break;
                    }
                    Some(_) => {
                        let (line, col) = self.position(self.pos);
                        let v = self.value()?;
                        each(v, line, col)?;
                    }
                }
            }
            self.depth -= 1;
        }
    }

    /// A map's entries up to its `}`; a keyword key is read as its name directly (the common
    /// case: every key of an operation map), any other key as a value.
    fn map(&mut self) -> Result<Json, EdnError> {
        let mut map = Map::new();
        loop {
            self.skip_discarded()?;
            let key = match self.text.get(self.pos) {
                None => return Err(self.error("the text ends before the closing `}`")),
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(map));
                }
                Some(b':') => {
                    let start = self.pos;
                    let tok = self.token();
                    if tok.starts_with(":#") {
                        // Not a keyword: refused as a value is.
                        self.pos = start;
                        map_key(&self.value()?)
                    } else {
                        tok[1..].to_string()
                    }
                }
                Some(_) => map_key(&self.value()?),
            };
            self.skip_discarded()?;
            match self.text.get(self.pos) {
                None => return Err(self.error("the text ends before the closing `}`")),
                Some(b'}') => return Err(self.error("a map needs a value for every key")),
                Some(_) => {
                    let v = self.value()?;
                    map.insert(key, v);
                }
            }
        }
    }

    fn sequence(&mut self, close: u8) -> Result<Vec<Json>, EdnError> {
        let mut items = Vec::new();
        loop {
            self.skip_discarded()?;
            match self.text.get(self.pos) {
                None => {
                    return Err(self.error(format!(
                        "the text ends before the closing `{}`",
                        close as char
                    )))
                }
                Some(&b) if b == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(_) => items.push(self.value()?),
            }
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(&b) = self.text.get(self.pos) {
            if b.is_ascii_whitespace() || b",()[]{}\";".contains(&b) {
                break;
            }
            self.pos += 1;
        }
        std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("")
    }

    fn string(&mut self) -> Result<Json, EdnError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.text.get(self.pos) {
                None => {
                    self.pos = start;
                    return Err(self.error("a string is not closed"));
                }
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Json::String(String::from_utf8_lossy(&out).into_owned()));
                }
                Some(b'\\') => {
                    let c = self.text.get(self.pos + 1).copied().unwrap_or(b'\\');
                    out.push(match c {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        other => other,
                    });
                    self.pos += 2;
                }
                Some(&b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
    }
}

/// A keyword, symbol, number, `nil` or boolean.
fn atom(tok: &str) -> Json {
    match tok {
        "nil" => Json::Null,
        "true" => Json::Bool(true),
        "false" => Json::Bool(false),
        _ => {
            if let Some(k) = tok.strip_prefix(':') {
                return keyword(k);
            }
            let digits = tok.trim_end_matches(['N', 'M']);
            if let Ok(i) = digits.parse::<i64>() {
                return Json::Number(i.into());
            }
            if let Ok(u) = digits.parse::<u64>() {
                return Json::Number(u.into());
            }
            if let Some(exact) = big_integer(tok) {
                let mut m = Map::new();
                m.insert(BIG_INT.into(), Json::String(exact));
                return Json::Object(m);
            }
            if let Some(n) = digits.parse::<f64>().ok().and_then(Number::from_f64) {
                return Json::Number(n);
            }
            let mut m = Map::new();
            m.insert(SYMBOL.into(), Json::String(tok.to_string()));
            Json::Object(m)
        }
    }
}

/// An integer too wide for 64 bits (`123...`, `-123...N`), as its exact digits with the sign
/// and without a `+` or leading zeros.
fn big_integer(tok: &str) -> Option<String> {
    let body = tok.strip_suffix('N').unwrap_or(tok);
    let (negative, digits) = match body.as_bytes().first()? {
        b'-' => (true, &body[1..]),
        b'+' => (false, &body[1..]),
        _ => (false, body),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    Some(format!("{}{digits}", if negative { "-" } else { "" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Json {
        Reader::new(text).next_value().unwrap().unwrap()
    }

    #[test]
    fn reads_jepsen_operation_maps() {
        let v = one("{:type :invoke, :f :cas, :value [1 2], :process 3, :time 12N}");
        assert_eq!(v["type"], keyword("invoke"));
        assert_eq!(name_of(&v["f"]), Some("cas"));
        assert_eq!(v["value"], serde_json::json!([1, 2]));
        assert_eq!(v["process"], 3);
        assert_eq!(v["time"], 12);
        assert_eq!(one("nil"), Json::Null);
        assert_eq!(one("#{1 2}"), serde_json::json!([1, 2]));
        assert_eq!(one("; comment\n\"a\\\"b\""), Json::String("a\"b".into()));
        assert_eq!(one("#jepsen.history.Op{:f :read}")["f"], keyword("read"));
    }

    #[test]
    fn keywords_strings_symbols_and_wide_integers_stay_apart() {
        let values = [
            ":x",
            "\"x\"",
            "x",
            "1",
            "\"1\"",
            "18446744073709551616",
            "18446744073709551617",
            "-18446744073709551617N",
            "nil",
            "null",
            "[:x]",
            "[\"x\"]",
            "{:x 1}",
            "{\"x\" 1}",
        ];
        let shown: Vec<String> = values.iter().map(|t| show(&one(t))).collect();
        let distinct: std::collections::BTreeSet<&String> = shown.iter().collect();
        assert_eq!(distinct.len(), values.len(), "{shown:?}");
        assert_eq!(show(&one("18446744073709551617")), "18446744073709551617");
        assert_eq!(
            show(&one("00123456789012345678901234567890N")),
            "123456789012345678901234567890"
        );
        assert_eq!(show(&one("[:x \"x\" x 1]")), "[:x,\"x\",x,1]");
        assert_eq!(one("12N"), one("12"));
        let e = Reader::new(":#kw").next_value().unwrap_err();
        assert!(e.message.contains("cannot begin with `#`"), "{e:?}");
    }

    #[test]
    fn each_element_of_a_top_level_vector_has_its_own_position() {
        let mut seen = Vec::new();
        Reader::new("; a history\n[{:a 1}\n {:a 2} {:a 3}]\n{:a 4} (é {:a 5})")
            .each_top_level(|v, line, col| {
                seen.push((show(&v), line, col));
                Ok(())
            })
            .unwrap();
        let at: Vec<(usize, usize)> = seen.iter().map(|(_, l, c)| (*l, *c)).collect();
        assert_eq!(
            at,
            [(2, 2), (3, 2), (3, 9), (4, 1), (4, 9), (4, 11)],
            "{seen:?}"
        );
        let e = Reader::new("[{:a 1}\n{:a 2}")
            .each_top_level(|_, _, _| Ok(()))
            .unwrap_err();
        assert!(e.message.contains("closing `]`"), "{e:?}");
    }

    #[test]
    fn errors_name_line_and_column() {
        let mut r = Reader::new("{:a 1}\n{:b");
        r.next_value().unwrap();
        let e = r.next_value().unwrap_err();
        assert_eq!((e.line, e.col), (2, 4), "{e:?}");
        let e = Reader::new("{:a}").next_value().unwrap_err();
        assert!(e.message.contains("a value for every key"), "{e:?}");
        let deep = "[".repeat(10_000);
        assert!(Reader::new(&deep).next_value().is_err());
    }

    #[test]
    fn discards_and_tags_are_bounded_like_nesting() {
        for deep in [
            "#_ ".repeat(40_000),
            "#a ".repeat(40_000),
            "#_[".repeat(40_000),
        ] {
            let e = Reader::new(&deep).next_value().unwrap_err();
            assert!(e.message.contains("nested deeper"), "{e:?}");
        }
    }

    #[test]
    fn reads_what_edn_allows() {
        assert_eq!(one("[1 #_ 5]"), serde_json::json!([1]));
        assert_eq!(one("{:a 1 #_ :b}"), serde_json::json!({"a": 1}));
        assert_eq!(one("#_ #_ 1 2 3"), serde_json::json!(3));
        assert_eq!(
            one("[##NaN ##Inf ##-Inf]"),
            serde_json::json!(["NaN", "Inf", "-Inf"])
        );
        assert_eq!(one("\u{feff}{:a 1}"), serde_json::json!({"a": 1}));
        assert!(Reader::new("##Foo").next_value().is_err());
        assert_eq!(
            Reader::new("[#_ 1] #_ 2").next_value().unwrap(),
            Some(serde_json::json!([]))
        );
        let mut r = Reader::new("1 #_ 2");
        r.next_value().unwrap();
        assert_eq!(r.next_value().unwrap(), None);
    }
}
