//! A small reader for EDN, the notation Jepsen and Knossos write histories in: maps, vectors,
//! lists, sets, keywords, strings, numbers, `nil`, booleans, symbols and tagged values, read
//! into JSON values (keywords and symbols become strings without their colon; sets and lists
//! become arrays; a tag is dropped and its value kept; `#_` discards the value after it;
//! `##NaN`, `##Inf` and `##-Inf` are read as those words). Nesting, through any mix of
//! collections, tags and discards, is bounded, so no input can exhaust the stack.

use serde_json::{Map, Number, Value as Json};

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
    /// The last position asked for and its line, so asking in order costs the bytes between.
    line_at: std::cell::Cell<(usize, usize)>,
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
            line_at: std::cell::Cell::new((0, 1)),
        }
    }

    /// Line and column of byte `pos`.
    pub fn position(&self, pos: usize) -> (usize, usize) {
        let pos = pos.min(self.text.len());
        let before = &self.text[..pos];
        let (from, line_from) = match self.line_at.get() {
            (at, line) if at <= pos => (at, line),
            _ => (0, 1),
        };
        let line = line_from + before[from..].iter().filter(|&&b| b == b'\n').count();
        self.line_at.set((pos, line));
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
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
                let items = self.sequence(b'}')?;
                if items.len() % 2 == 1 {
                    return Err(self.error("a map needs a value for every key"));
                }
                let mut map = Map::new();
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    let key = match k {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    map.insert(key, v);
                }
                Ok(Json::Object(map))
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
                Ok(atom(tok))
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
                return Json::String(k.to_string());
            }
            let digits = tok.trim_end_matches(['N', 'M']);
            if let Ok(i) = digits.parse::<i64>() {
                return Json::Number(i.into());
            }
            if let Ok(u) = digits.parse::<u64>() {
                return Json::Number(u.into());
            }
            if let Some(n) = digits.parse::<f64>().ok().and_then(Number::from_f64) {
                return Json::Number(n);
            }
            Json::String(tok.to_string())
        }
    }
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
        assert_eq!(v["type"], "invoke");
        assert_eq!(v["f"], "cas");
        assert_eq!(v["value"], serde_json::json!([1, 2]));
        assert_eq!(v["process"], 3);
        assert_eq!(v["time"], 12);
        assert_eq!(one("nil"), Json::Null);
        assert_eq!(one("#{1 2}"), serde_json::json!([1, 2]));
        assert_eq!(one("; comment\n\"a\\\"b\""), Json::String("a\"b".into()));
        assert_eq!(one("#jepsen.history.Op{:f :read}")["f"], "read");
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
