//! The library's error type. Every message names what was wrong and, where it helps,
//! what would be valid; the CLI prints it once and exits with status 2.

use std::path::PathBuf;

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in mechsim's library code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario file that could not be read, parsed or validated.
    #[error("{file}:{line}:{column}: {message}")]
    Scenario {
        /// The scenario file.
        file: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the key and the valid choices.
        message: String,
    },
    /// An invalid parameter outside of any file (e.g. a programmatic scenario).
    #[error("invalid parameter `{key}`: {message}")]
    Param {
        /// The parameter name.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    /// (The cause is part of the message, not a `source`, so it is printed once.)
    #[error("{action} {}: {cause}", path.display())]
    Io {
        /// What was being done ("cannot read", "cannot write", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },
    /// The output directory already holds results.
    #[error(
        "output directory {} already exists and is not empty; pass --force to replace it or --out to choose another",
        .0.display()
    )]
    OutputExists(PathBuf),
    /// An output path mechsim refuses to write or replace (the second field says why).
    #[error("refusing output directory {}: {}", .0.display(), .1)]
    UnsafeOutput(PathBuf, String),
    /// Another run is writing the same output directory.
    #[error(
        "output directory {} is being written by {holder}; wait for it to finish or choose another --out",
        path.display()
    )]
    OutputBusy { path: PathBuf, holder: String },
    /// A CSV or JSON writer failed.
    #[error("cannot write {}: {message}", path.display())]
    Output {
        /// The file being written.
        path: PathBuf,
        /// The underlying failure.
        message: String,
    },
    /// The run could not be carried out as configured.
    #[error("{0}")]
    Run(String),
    /// What was being done when `cause` went wrong ("running x.toml: ..."). The cause is
    /// part of the message, not a separate source, so it is printed once.
    #[error("{context}: {cause}")]
    Context {
        /// What was being done.
        context: String,
        /// What went wrong.
        cause: Box<Error>,
    },
    /// A CSV file that cannot be read as needed (file, line, column).
    #[error(transparent)]
    Csv(#[from] crate::core::table::CsvError),
    /// Stopped early because another part of the same run (a replicate) failed; that
    /// failure is the one to report.
    #[error("stopped because another replicate of the run failed")]
    Cancelled,
    /// Stopped on the user's interrupt (Ctrl-C or SIGTERM); the message says what was kept.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl Error {
    /// Shorthand for an I/O error with context.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            cause,
        }
    }
}
