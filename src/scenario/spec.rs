//! A component named in a scenario with its parameters, `Name(params)`, kept as the RON text the
//! file holds until a `Registry` turns it into a protocol or a check.
//!
//! The text stays exact (what the user wrote is what a shrunk file repeats), and it remembers
//! where it stood in its file so that a parameter error points at the file's own line and column.

use ron::value::RawValue;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// `Name(params)` as RON text, with its place in the scenario file when it was read from one.
#[derive(Clone)]
pub struct Spec {
    text: String,
    /// Address of the text inside the input while parsing; turned into `at` by `locate`.
    addr: usize,
    /// 1-based line and column of the text in its file.
    at: Option<(usize, usize)>,
}

impl Spec {
    /// A spec for a component named `name` with typed `params` (unit params print as `Name`).
    pub fn of<T: Serialize>(name: &str, params: &T) -> Spec {
        // Written as `params` reads it back (`Some` left implicit, as scenarios write it).
        let body = ron_options()
            .to_string(params)
            .unwrap_or_else(|_| "()".to_string());
        let text = if body == "()" {
            name.to_string()
        } else if body.starts_with('(') {
            format!("{name}{body}")
        } else {
            format!("{name}({body})")
        };
        Spec {
            text,
            addr: 0,
            at: None,
        }
    }

    /// The spec of protocol `P` with parameters `params`, as a scenario names it.
    pub fn protocol<P: crate::protocol::Protocol>(params: &P) -> Spec {
        Spec::of(P::NAME, params)
    }

    /// The spec of check `C` with parameters `check`, as a scenario names it.
    pub fn check<C: crate::protocol::Check>(check: &C) -> Spec {
        Spec::of(C::NAME, check)
    }

    /// Changes the parameters in place through their type `T`, keeping the name.
    pub fn edit<T: Serialize + DeserializeOwned>(
        &mut self,
        change: impl FnOnce(&mut T),
    ) -> std::result::Result<(), ParamsError> {
        let mut params: T = self.params()?;
        change(&mut params);
        *self = Spec::of(self.name(), &params);
        Ok(())
    }

    /// Reads a spec from RON text such as `Raft(heartbeat: "50ms")`.
    pub fn parse(text: &str) -> std::result::Result<Spec, String> {
        let spec = Spec {
            text: text.trim().to_string(),
            addr: 0,
            at: None,
        };
        if spec.name().is_empty() {
            return Err(format!("`{text}` does not start with a name"));
        }
        Ok(spec)
    }

    /// The component's name: the identifier the text starts with.
    pub fn name(&self) -> &str {
        let end = self
            .text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.text.len());
        &self.text[..end]
    }

    /// The RON text after the name: `(...)`, or empty for a bare name.
    pub fn params_text(&self) -> &str {
        self.text[self.name().len()..].trim()
    }

    /// The whole text, name and parameters.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Where the spec stood in its file (1-based line and column), when read from one.
    pub fn position(&self) -> Option<(usize, usize)> {
        self.at
    }

    /// Deserializes the parameters as `T`; an error carries the line and column in the file
    /// (or in the spec's own text when it came from code) and ron's explanation.
    pub fn params<T: DeserializeOwned>(&self) -> std::result::Result<T, ParamsError> {
        let body = match self.params_text() {
            "" => "()",
            b => b,
        };
        ron_options().from_str::<T>(body).map_err(|e| {
            let (line, col) = (e.span.start.line, e.span.start.col);
            // The body starts right after the name, on the spec's first line.
            let offset = self.text.len() - self.text[self.name().len()..].trim_start().len();
            let (line, col) = match (self.at, line) {
                (Some((l0, c0)), 1) => (l0, c0 + offset + col - 1),
                (Some((l0, _)), l) => (l0 + l - 1, col),
                (None, 1) => (1, offset + col),
                (None, l) => (l, col),
            };
            ParamsError {
                line,
                col,
                message: e.code.to_string(),
            }
        })
    }

    /// Sets `position` from the address recorded while parsing `input`.
    pub(crate) fn locate(&mut self, input: &str) {
        let base = input.as_ptr() as usize;
        if self.addr >= base && self.addr <= base + input.len() {
            let before = &input[..self.addr - base];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            self.at = Some((line, col));
        }
        self.addr = 0;
    }
}

/// Why a spec's parameters did not deserialize, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamsError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What ron expected.
    pub message: String,
}

/// The RON dialect scenario files use: implicit `Some`, newtype variants without parentheses.
pub(crate) fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .with_default_extension(ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES)
}

impl PartialEq for Spec {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Spec {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match RawValue::from_ron(&self.text) {
            Ok(raw) => raw.serialize(s),
            Err(e) => Err(serde::ser::Error::custom(format!(
                "`{}` is not RON: {e}",
                self.text
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Spec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(d)?;
        let text = raw.get_ron();
        let trimmed = text.trim_start();
        let addr = trimmed.as_ptr() as usize;
        let mut spec = Spec::parse(text).map_err(D::Error::custom)?;
        spec.addr = addr;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize, Default)]
    #[serde(deny_unknown_fields, default)]
    struct P {
        a: u32,
        b: String,
    }

    #[test]
    fn name_and_params_split_at_the_first_parenthesis() {
        let s = Spec::parse("MyLock(lease: \"200ms\")").unwrap();
        assert_eq!(s.name(), "MyLock");
        assert_eq!(s.params_text(), "(lease: \"200ms\")");
        let bare = Spec::parse("Linearizable").unwrap();
        assert_eq!((bare.name(), bare.params_text()), ("Linearizable", ""));
        assert!(Spec::parse("(a: 1)").is_err());
    }

    #[test]
    fn typed_params_round_trip_through_the_text() {
        let p = P {
            a: 3,
            b: "x".into(),
        };
        let s = Spec::of("Thing", &p);
        assert_eq!(s.text(), "Thing(a:3,b:\"x\")");
        assert_eq!(s.params::<P>().unwrap(), p);
        #[derive(Serialize)]
        struct Unit;
        assert_eq!(Spec::of("Linearizable", &Unit).text(), "Linearizable");
        assert_eq!(
            Spec::parse("Thing").unwrap().params::<P>().unwrap(),
            P::default()
        );
    }

    #[test]
    fn a_bad_field_is_reported_at_its_column_in_the_spec() {
        let e = Spec::parse("Thing(a: 1, c: 2)")
            .unwrap()
            .params::<P>()
            .unwrap_err();
        assert_eq!((e.line, e.col), (1, 13), "{e:?}");
        assert!(e.message.contains("`c`"), "{}", e.message);
    }
}
