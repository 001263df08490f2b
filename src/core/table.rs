//! The one way mechsim reads a CSV file (its own outputs for `analyze` and `sweep`, users'
//! logs for `ope`, `score` and `compare`): header cells trimmed, rows of any length, and
//! every problem reported as `file:line: message`, naming the column and listing the
//! header when a column is missing.

use std::io::Read;
use std::path::{Path, PathBuf};

/// A CSV problem, with its place: `file:line: message`, or for the file as a whole (line
/// 0) the message alone, which names the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct CsvError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (the header is line 1; 0: the file as a whole).
    pub line: usize,
    /// What is wrong, naming the column.
    pub message: String,
}

impl CsvError {
    fn render(&self) -> String {
        if self.line == 0 {
            self.message.clone()
        } else {
            format!("{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

/// An open CSV file whose header has been read.
pub struct CsvInput<R: Read> {
    path: PathBuf,
    header: Vec<String>,
    reader: csv::Reader<R>,
    line: usize,
}

impl CsvInput<std::fs::File> {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, CsvError> {
        let file = std::fs::File::open(path).map_err(|e| CsvError {
            file: path.to_path_buf(),
            line: 0,
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::new(path, file)
    }
}

impl<R: Read> CsvInput<R> {
    /// Reads the header of `source`, which came from `path` (used in messages).
    pub fn new(path: &Path, source: R) -> Result<Self, CsvError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(source);
        let header = reader
            .headers()
            .map_err(|e| CsvError {
                file: path.to_path_buf(),
                line: 1,
                message: format!("cannot read the header: {e}"),
            })?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        Ok(CsvInput {
            path: path.to_path_buf(),
            header,
            reader,
            line: 1,
        })
    }

    /// The header's cells, trimmed.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The index of column `name`, if the header has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The index of column `name`, or an error saying why it is needed and what the header
    /// has.
    pub fn require(&self, name: &str, why: &str) -> Result<usize, CsvError> {
        self.column(name).ok_or_else(|| {
            self.error(
                1,
                format!(
                    "no column `{name}`{why}; the header has: {}",
                    self.header
                        .iter()
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    /// An error at `line` of this file.
    pub fn error(&self, line: usize, message: String) -> CsvError {
        CsvError {
            file: self.path.clone(),
            line,
            message,
        }
    }

    /// The byte offset just past what has been read (the header, at first).
    pub fn position(&self) -> u64 {
        self.reader.position().byte()
    }

    /// Reads the next row into `record`; `Ok(None)` at the end, else its line number.
    pub fn next_row(&mut self, record: &mut csv::ByteRecord) -> Result<Option<usize>, CsvError> {
        match self.reader.read_byte_record(record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                // The line the record starts on (quoted fields may span lines).
                self.line = record.position().map_or(self.line + 1, |p| p.line() as usize);
                Ok(Some(self.line))
            }
            Err(e) => {
                let line = match e.kind() {
                    csv::ErrorKind::UnequalLengths { pos: Some(p), .. } => p.line() as usize,
                    _ => self.line + 1,
                };
                Err(self.error(line, format!("malformed CSV: {e}")))
            }
        }
    }

    /// Every remaining row, as text.
    pub fn rows(mut self) -> Result<Vec<csv::StringRecord>, CsvError> {
        let mut out = Vec::new();
        let mut record = csv::ByteRecord::new();
        while let Some(line) = self.next_row(&mut record)? {
            let row = csv::StringRecord::from_byte_record(record.clone())
                .map_err(|_| self.error(line, "a field is not UTF-8".into()))?;
            out.push(row);
        }
        Ok(out)
    }
}

/// Field `col` of `record` (trimmed text), or an error naming the line and the column.
pub fn field<'r>(
    record: &'r csv::ByteRecord,
    col: usize,
    file: &Path,
    line: usize,
    name: &str,
) -> Result<&'r str, CsvError> {
    let raw = record.get(col).ok_or_else(|| CsvError {
        file: file.to_path_buf(),
        line,
        message: format!("the row has no column `{name}` ({} fields)", record.len()),
    })?;
    std::str::from_utf8(raw).map(str::trim).map_err(|e| CsvError {
        file: file.to_path_buf(),
        line,
        message: format!(
            "column `{name}` is not UTF-8 (byte {} of the field is invalid)",
            e.valid_up_to() + 1
        ),
    })
}
