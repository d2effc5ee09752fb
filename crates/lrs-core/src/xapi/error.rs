//! The validation error type and the request paths it carries.
//!
//! Paths are rendered in one style everywhere (parser, schema, rule checks): a root name
//! given by the caller, then `.key` for identifier-like keys, `["key"]` for any other key
//! (extension IRIs, language tags) and `[i]` for array indexes, e.g.
//! `statement[3].context.extensions["http://example.com/x"]`.
//!
//! Rule checks build paths lazily as a linked list on the stack ([`Path`]), so a valid
//! statement never allocates a path string; the string is rendered only for the error.

use std::fmt;

/// A validation failure: where (JSON path in the request, e.g. `statement[3].actor.mbox`)
/// and why. Every failure maps to HTTP 400 unless the caller knows better.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    pub path: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ValidationError {}

/// One step of a path.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Seg<'a> {
    Root(&'a str),
    Key(&'a str),
    Index(usize),
}

/// A path built on the stack while walking a value; rendered only when an error is reported.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

impl<'a> Path<'a> {
    pub(crate) fn root(name: &'a str) -> Self {
        Path {
            parent: None,
            seg: Seg::Root(name),
        }
    }

    pub(crate) fn key<'b>(&'b self, key: &'b str) -> Path<'b>
    where
        'a: 'b,
    {
        Path {
            parent: Some(self),
            seg: Seg::Key(key),
        }
    }

    pub(crate) fn index<'b>(&'b self, index: usize) -> Path<'b>
    where
        'a: 'b,
    {
        Path {
            parent: Some(self),
            seg: Seg::Index(index),
        }
    }

    pub(crate) fn render(&self) -> String {
        let mut segs = Vec::with_capacity(8);
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(p.seg);
            cur = p.parent;
        }
        let mut out = String::with_capacity(32);
        for seg in segs.iter().rev() {
            match *seg {
                Seg::Root(name) => out.push_str(name),
                Seg::Key(k) => push_key(&mut out, k),
                Seg::Index(i) => push_index(&mut out, i),
            }
        }
        out
    }

    /// An error located at this path.
    pub(crate) fn err(&self, message: impl Into<String>) -> ValidationError {
        ValidationError {
            path: self.render(),
            message: message.into(),
        }
    }
}

/// Appends an object key to a rendered path: `.key` when it looks like an identifier,
/// `["…"]` (JSON-escaped) otherwise, so IRIs and odd keys stay unambiguous.
pub(crate) fn push_key(out: &mut String, key: &str) {
    let simple = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if simple {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(key);
    } else {
        out.push('[');
        // Serialising a &str cannot fail; fall back to a plain quote just in case.
        match serde_json::to_string(key) {
            Ok(quoted) => out.push_str(&quoted),
            Err(_) => {
                out.push('"');
                out.push_str(key);
                out.push('"');
            }
        }
        out.push(']');
    }
}

pub(crate) fn push_index(out: &mut String, index: usize) {
    use fmt::Write;
    let _ = write!(out, "[{index}]");
}

/// Quotes a value for an error message, shortening long strings so that a hostile
/// request cannot make error bodies arbitrarily large.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 80;
    let shown = if s.len() > MAX {
        let mut end = MAX;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s.to_owned()
    };
    serde_json::to_string(&shown).unwrap_or_else(|_| format!("\"{shown}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_keys_indexes_and_odd_keys() {
        let root = Path::root("statement");
        let ctx = root.key("context");
        let ext = ctx.key("extensions");
        let odd = ext.key("http://example.com/x");
        assert_eq!(
            odd.render(),
            r#"statement.context.extensions["http://example.com/x"]"#
        );
        let arr = Path::root("statement");
        let i = arr.index(3);
        let a = i.key("actor");
        assert_eq!(a.render(), "statement[3].actor");
        let empty = Path::root("");
        let k = empty.key("mbox");
        assert_eq!(k.render(), "mbox");
    }

    #[test]
    fn display_omits_empty_path() {
        assert_eq!(ValidationError::new("", "bad").to_string(), "bad");
        assert_eq!(ValidationError::new("a.b", "bad").to_string(), "a.b: bad");
    }

    #[test]
    fn quote_truncates_long_values() {
        let long = "é".repeat(100);
        let q = quote(&long);
        assert!(q.len() < 200 && q.ends_with("…\""));
    }
}
