//! A CSV writer for the files with a row per round and seat (`rounds.csv`, `timing.csv`):
//! rows are built byte by byte in one reused line buffer, integers go through `itoa`,
//! and the text fields that repeat on every row (scenario, label, policy) are quoted once
//! per run. It writes exactly the bytes the `csv` crate's default writer writes for the
//! same fields (quotes only where a field holds a comma, a quote or a line break; `\n`
//! ends a line); the tests below hold it to that.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::core::error::{Error, Result};
use crate::core::tournament::MetricValue;

/// A text field already written as it appears in the file (quoted where needed).
pub(crate) struct Encoded(Vec<u8>);

impl Encoded {
    pub(crate) fn new(text: &str) -> Self {
        let mut bytes = Vec::with_capacity(text.len() + 2);
        quote_into(&mut bytes, text);
        Encoded(bytes)
    }
}

fn needs_quotes(text: &str) -> bool {
    text.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
}

fn quote_into(out: &mut Vec<u8>, text: &str) {
    if !needs_quotes(text) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'"');
    for b in text.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Writes rows into a file, field by field.
pub(crate) struct LineWriter<'a> {
    path: &'a Path,
    out: BufWriter<File>,
    line: Vec<u8>,
    /// Whether the row being built has a field yet (an empty field leaves no byte).
    started: bool,
    digits: itoa::Buffer,
}

impl<'a> LineWriter<'a> {
    /// Creates `path` and writes the header row.
    pub(crate) fn create(path: &'a Path, header: &[&str]) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io("cannot create", path, e))?;
        let mut writer = LineWriter {
            path,
            out: BufWriter::with_capacity(1 << 16, file),
            line: Vec::with_capacity(256),
            started: false,
            digits: itoa::Buffer::new(),
        };
        for name in header {
            writer.text(name);
        }
        writer.end_row()?;
        Ok(writer)
    }

    fn separate(&mut self) {
        if self.started {
            self.line.push(b',');
        }
        self.started = true;
    }

    pub(crate) fn text(&mut self, text: &str) {
        self.separate();
        quote_into(&mut self.line, text);
    }

    pub(crate) fn encoded(&mut self, field: &Encoded) {
        self.separate();
        self.line.extend_from_slice(&field.0);
    }

    pub(crate) fn int(&mut self, value: impl itoa::Integer) {
        self.separate();
        self.line.extend_from_slice(self.digits.format(value).as_bytes());
    }

    /// As `Display` writes it: integral values without a fraction, `-0`, `NaN`, `inf`.
    pub(crate) fn float(&mut self, value: f64) {
        // Integral values below 2^53 print as the integer they are, except negative zero.
        if value.fract() == 0.0 && value.abs() < 9.0e15 && !(value == 0.0 && value.is_sign_negative()) {
            self.int(value as i64);
            return;
        }
        self.separate();
        let _ = write!(self.line, "{value}");
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.separate();
        self.line
            .extend_from_slice(if value { b"true".as_slice() } else { b"false".as_slice() });
    }

    pub(crate) fn metric(&mut self, value: MetricValue) {
        match value {
            MetricValue::Int(v) => self.int(v),
            MetricValue::Float(v) => self.float(v),
            MetricValue::Bool(v) => self.bool(v),
        }
    }

    /// Ends the row being built and hands it to the file.
    pub(crate) fn end_row(&mut self) -> Result<()> {
        self.line.push(b'\n');
        let written = self.out.write_all(&self.line);
        self.line.clear();
        self.started = false;
        written.map_err(|e| Error::io("cannot write", self.path, e))
    }

    /// Flushes everything to the file.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io("cannot write", self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the `csv` crate's default writer makes of `fields`.
    fn by_csv_crate(fields: &[String]) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(fields).expect("writes to memory");
        w.into_inner().expect("flushes to memory")
    }

    fn by_line_writer(fill: impl FnOnce(&mut LineWriter<'_>)) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("rows.csv");
        let mut w = LineWriter::create(&path, &["h"]).expect("creates");
        fill(&mut w);
        w.end_row().expect("writes");
        w.finish().expect("flushes");
        let bytes = std::fs::read(&path).expect("reads back");
        bytes[b"h\n".len()..].to_vec()
    }

    proptest! {
        #[test]
        fn text_fields_match_the_csv_crate(a in ".*", b in "[a-z,\"\\n\\r ]*", c in ".*") {
            let fields = vec![a.clone(), b.clone(), c.clone()];
            let ours = by_line_writer(|w| {
                w.text(&a);
                w.encoded(&Encoded::new(&b));
                w.text(&c);
            });
            prop_assert_eq!(ours, by_csv_crate(&fields));
        }

        #[test]
        fn numbers_match_display(i in any::<i64>(), u in any::<u64>(), f in any::<f64>(), small in -1.0e17f64..1.0e17, whole in -1_000_000i64..1_000_000, flag in any::<bool>()) {
            let whole = whole as f64;
            let fields: Vec<String> = vec![
                i.to_string(), u.to_string(), f.to_string(), small.to_string(), whole.to_string(), flag.to_string(),
            ];
            let ours = by_line_writer(|w| {
                w.metric(MetricValue::Int(i));
                w.int(u);
                w.metric(MetricValue::Float(f));
                w.float(small);
                w.float(whole);
                w.metric(MetricValue::Bool(flag));
            });
            prop_assert_eq!(ours, by_csv_crate(&fields));
        }
    }

    #[test]
    fn special_floats_match_display() {
        let values = [
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            9.0e15,
            -9.0e15,
            8_999_999_999_999_999.0,
            1e300,
            5e-324,
            0.1,
            -2.5,
        ];
        let fields: Vec<String> = values.iter().map(f64::to_string).collect();
        let ours = by_line_writer(|w| values.iter().for_each(|v| w.float(*v)));
        assert_eq!(
            String::from_utf8(ours).expect("utf-8"),
            String::from_utf8(by_csv_crate(&fields)).expect("utf-8")
        );
    }
}
