//! Where things are in a scenario file: a spanned parse of the TOML text that turns key
//! paths into line/column positions and byte offsets back into key paths, so every error
//! names the file, the line, the column and the key.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Formats a path as `seats[1].policy`.
pub fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A parsed scenario text with spans.
pub struct SourceMap<'a> {
    text: &'a str,
    root: Spanned<DeTable<'a>>,
}

impl<'a> SourceMap<'a> {
    /// Parses `text`; on a syntax error returns the message and its byte span.
    pub fn parse(text: &'a str) -> Result<Self, (String, Option<Range<usize>>)> {
        match DeTable::parse(text) {
            Ok(root) => Ok(SourceMap { text, root }),
            Err(e) => Err((e.message().to_string(), e.span())),
        }
    }

    /// 1-based (line, column) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(self.text, offset)
    }

    /// The span of the key (if `key_span`) or of the value at `path`.
    pub fn span(&self, path: &[Seg], key_span: bool) -> Option<Range<usize>> {
        let mut table: &DeTable<'a> = self.root.get_ref();
        let mut value: Option<&Spanned<DeValue<'a>>> = None;
        let mut last_key: Option<Range<usize>> = None;
        for seg in path {
            match seg {
                Seg::Key(k) => {
                    if let Some(v) = value {
                        match v.get_ref() {
                            DeValue::Table(t) => table = t,
                            _ => return None,
                        }
                    }
                    let (key, v) = table.iter().find(|(key, _)| key.get_ref().as_ref() == k.as_str())?;
                    last_key = Some(key.span());
                    value = Some(v);
                }
                Seg::Index(i) => {
                    let v = value?;
                    match v.get_ref() {
                        DeValue::Array(items) => {
                            let item = items.get(*i)?;
                            value = Some(item);
                            last_key = Some(item.span());
                        }
                        _ => return None,
                    }
                }
            }
        }
        if key_span {
            last_key.or_else(|| value.map(Spanned::span))
        } else {
            value.map(Spanned::span).or(last_key)
        }
    }

    /// The innermost key path whose key or value contains `offset`.
    pub fn path_at(&self, offset: usize) -> Vec<Seg> {
        let mut path = Vec::new();
        find_in_table(self.root.get_ref(), offset, &mut path);
        path
    }
}

// Parent spans of `[table]` and `[[array]]` sections cover only their headers, so the
// search visits every entry and keeps the deepest key or value that contains the offset.
fn find_in_table(table: &DeTable<'_>, offset: usize, path: &mut Vec<Seg>) -> bool {
    for (key, value) in table.iter() {
        path.push(Seg::Key(key.get_ref().to_string()));
        if find_in_value(value, offset, path) {
            return true;
        }
        let hit = key.span().contains(&offset) || value.span().contains(&offset) || value.span().end == offset;
        if hit {
            return true;
        }
        path.pop();
    }
    false
}

fn find_in_value(value: &Spanned<DeValue<'_>>, offset: usize, path: &mut Vec<Seg>) -> bool {
    match value.get_ref() {
        DeValue::Table(t) => find_in_table(t, offset, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                if find_in_value(item, offset, path) {
                    return true;
                }
                if item.span().contains(&offset) && !matches!(item.get_ref(), DeValue::Table(_)) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// 1-based (line, column) of a byte offset in `text` (columns count characters).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "name = \"x\"\n[game]\nname = \"dhumbal\"\n\n[[seats]]\npolicy = \"random\"\n[[seats]]\npolicy = \"oops\"\n";

    #[test]
    fn paths_to_positions_and_back() {
        let map = SourceMap::parse(TEXT).unwrap();
        let path = vec![Seg::Key("seats".into()), Seg::Index(1), Seg::Key("policy".into())];
        let span = map.span(&path, false).unwrap();
        assert_eq!(map.line_col(span.start), (8, 10));
        let key = map.span(&path, true).unwrap();
        assert_eq!(map.line_col(key.start), (8, 1));
        assert_eq!(path_string(&map.path_at(span.start + 1)), "seats[1].policy");
        assert_eq!(
            path_string(
                &map.path_at(
                    map.span(&[Seg::Key("game".into()), Seg::Key("name".into())], false)
                        .unwrap()
                        .start
                )
            ),
            "game.name"
        );
    }

    #[test]
    fn syntax_errors_have_spans() {
        let Err((message, span)) = SourceMap::parse("name = \n") else {
            panic!("should fail")
        };
        assert!(!message.is_empty());
        assert!(span.is_some());
    }
}
