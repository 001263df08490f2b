//! Typed, self-describing parameters. Games (rule overrides) and policies (their knobs)
//! declare `ParamSpec`s; the scenario layer checks file values against them, so every
//! game and policy gets the same precise errors and the same `mechsim list` help for free.

use std::collections::BTreeMap;
use std::fmt;

/// What values a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// An integer in `[min, max]`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A float in `[min, max]` (integers are accepted too).
    Float {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// `true` or `false`.
    Bool,
    /// One of a fixed list of strings.
    Choice(&'static [&'static str]),
    /// The name of a registered, non-search policy of the same game (checked by the
    /// scenario layer, which knows the game).
    PolicyName,
    /// A path to an existing file (relative to the working directory).
    Path,
    /// Any non-empty string.
    Text,
    /// A non-empty list of strings (e.g. a command line).
    StringList,
    /// A table of string values (e.g. environment variables).
    StringMap,
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamKind::Int { min, max } => write!(f, "an integer in {min}..={max}"),
            ParamKind::Float { min, max } => write!(f, "a number in [{min}, {max}]"),
            ParamKind::Bool => write!(f, "true or false"),
            ParamKind::Choice(choices) => {
                let quoted: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
                write!(f, "one of {}", quoted.join(", "))
            }
            ParamKind::PolicyName => write!(f, "the name of a non-search policy of this game"),
            ParamKind::Path => write!(f, "a path to an existing file"),
            ParamKind::Text => write!(f, "a non-empty string"),
            ParamKind::StringList => write!(f, "a non-empty list of strings"),
            ParamKind::StringMap => write!(f, "a table of strings"),
        }
    }
}

/// One declared parameter.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// The key as written in scenario files.
    pub name: &'static str,
    /// Allowed values.
    pub kind: ParamKind,
    /// One line of help for `mechsim list`.
    pub help: &'static str,
}

/// A parameter value as read from a scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
    /// A list of strings.
    List(Vec<String>),
    /// A table of strings, sorted by key.
    Map(BTreeMap<String, String>),
}

impl ParamValue {
    /// The TOML type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ParamValue::Int(_) => "integer",
            ParamValue::Float(_) => "float",
            ParamValue::Bool(_) => "boolean",
            ParamValue::Str(_) => "string",
            ParamValue::List(_) => "array",
            ParamValue::Map(_) => "table",
        }
    }
}

impl ParamSpec {
    /// Checks `value` against this spec, normalising ints to floats where a float is
    /// wanted. The error says what was given and what would be valid.
    pub fn check(&self, value: ParamValue) -> Result<ParamValue, String> {
        let wrong = |v: &ParamValue| {
            format!(
                "`{}` must be {}, found {} {}",
                self.name,
                self.kind,
                v.type_name(),
                display_value(v)
            )
        };
        match (self.kind, value) {
            (ParamKind::Int { min, max }, ParamValue::Int(v)) if v >= min && v <= max => Ok(ParamValue::Int(v)),
            (ParamKind::Float { min, max }, ParamValue::Int(v)) if (v as f64) >= min && (v as f64) <= max => {
                Ok(ParamValue::Float(v as f64))
            }
            (ParamKind::Float { min, max }, ParamValue::Float(v)) if v.is_finite() && v >= min && v <= max => {
                Ok(ParamValue::Float(v))
            }
            (ParamKind::Bool, ParamValue::Bool(b)) => Ok(ParamValue::Bool(b)),
            (ParamKind::PolicyName, ParamValue::Str(s)) if !s.trim().is_empty() => Ok(ParamValue::Str(s)),
            (ParamKind::Path, ParamValue::Str(s)) if std::path::Path::new(&s).is_file() => Ok(ParamValue::Str(s)),
            (ParamKind::Path, ParamValue::Str(s)) => Err(format!(
                "`{}` must be {}, but \"{s}\" is not a file",
                self.name, self.kind
            )),
            (ParamKind::Text, ParamValue::Str(s)) if !s.trim().is_empty() => Ok(ParamValue::Str(s)),
            (ParamKind::StringList, ParamValue::List(items)) if !items.is_empty() => Ok(ParamValue::List(items)),
            (ParamKind::StringMap, ParamValue::Map(map)) => Ok(ParamValue::Map(map)),
            (ParamKind::Choice(choices), ParamValue::Str(s)) => {
                if choices.contains(&s.as_str()) {
                    Ok(ParamValue::Str(s))
                } else {
                    let hint = value_hint(&s, choices.iter().copied());
                    Err(format!("`{}` must be {}, found \"{s}\"{hint}", self.name, self.kind))
                }
            }
            (_, v) => Err(wrong(&v)),
        }
    }
}

fn display_value(v: &ParamValue) -> String {
    match v {
        ParamValue::Int(i) => i.to_string(),
        ParamValue::Float(x) => x.to_string(),
        ParamValue::Bool(b) => b.to_string(),
        ParamValue::Str(s) => format!("\"{s}\""),
        ParamValue::List(items) => format!("{items:?}"),
        ParamValue::Map(map) => format!("{map:?}"),
    }
}

/// The closest candidate to `given`, if any is close: few edits (optimal string alignment,
/// so a swapped pair of letters is one edit) or a high Jaro-Winkler similarity.
pub fn did_you_mean<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let budget = (given.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(given, c), strsim::jaro_winkler(given, c), c))
        .filter(|(edits, similarity, _)| *edits <= budget || *similarity >= 0.85)
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c)
}

/// `; did you mean "x"?` for the closest candidate, or nothing (for value errors).
pub fn value_hint<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(given, candidates)
        .map(|c| format!("; did you mean \"{c}\"?"))
        .unwrap_or_default()
}

/// Validated parameter values by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<String, ParamValue>,
}

impl Params {
    /// Empty parameters (every default applies).
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks `key = value` against `specs` and stores it. Unknown keys are errors that
    /// list the valid keys and suggest the closest one.
    pub fn set(&mut self, specs: &[ParamSpec], key: &str, value: ParamValue) -> Result<(), String> {
        let Some(spec) = specs.iter().find(|s| s.name == key) else {
            return Err(unknown_key_message(key, specs.iter().map(|s| s.name)));
        };
        let checked = spec.check(value)?;
        self.values.insert(key.to_string(), checked);
        Ok(())
    }

    /// An integer parameter, if set.
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.values.get(key) {
            Some(ParamValue::Int(v)) => Some(*v),
            _ => None,
        }
    }

    /// A float parameter, if set.
    pub fn float(&self, key: &str) -> Option<f64> {
        match self.values.get(key) {
            Some(ParamValue::Float(v)) => Some(*v),
            Some(ParamValue::Int(v)) => Some(*v as f64),
            _ => None,
        }
    }

    /// A boolean parameter, if set.
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.values.get(key) {
            Some(ParamValue::Bool(v)) => Some(*v),
            _ => None,
        }
    }

    /// A string parameter, if set.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.values.get(key) {
            Some(ParamValue::Str(v)) => Some(v.as_str()),
            _ => None,
        }
    }

    /// A list-of-strings parameter, if set.
    pub fn list(&self, key: &str) -> Option<&[String]> {
        match self.values.get(key) {
            Some(ParamValue::List(v)) => Some(v.as_slice()),
            _ => None,
        }
    }

    /// A table-of-strings parameter, if set.
    pub fn map(&self, key: &str) -> Option<&BTreeMap<String, String>> {
        match self.values.get(key) {
            Some(ParamValue::Map(v)) => Some(v),
            _ => None,
        }
    }

    /// Stores `value` under `key` without a spec: for values the scenario layer derives
    /// itself (e.g. an external agent's working directory, resolved against the file).
    pub fn insert_derived(&mut self, key: &str, value: ParamValue) {
        self.values.insert(key.to_string(), value);
    }

    /// Lowers an integer parameter to at most `max`, setting it if absent (used to scale
    /// scenarios down for smoke tests).
    pub fn cap_int(&mut self, key: &str, max: i64) {
        let value = self.int(key).map_or(max, |v| v.min(max));
        self.values.insert(key.to_string(), ParamValue::Int(value));
    }

    /// All set values, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// "unknown key `x`; did you mean `y`? valid keys: ..." (shared wording for every layer).
pub fn unknown_key_message<'a>(key: &str, valid: impl Iterator<Item = &'a str> + Clone) -> String {
    let hint = did_you_mean(key, valid.clone())
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    let list: Vec<String> = valid.map(|v| format!("`{v}`")).collect();
    if list.is_empty() {
        format!("unknown key `{key}`: this table takes no keys")
    } else {
        format!("unknown key `{key}`{hint} (valid keys: {})", list.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec {
            name: "threshold",
            kind: ParamKind::Int { min: 0, max: 65 },
            help: "",
        },
        ParamSpec {
            name: "face_cards",
            kind: ParamKind::Choice(&["rank", "ten"]),
            help: "",
        },
        ParamSpec {
            name: "p",
            kind: ParamKind::Float { min: 0.0, max: 1.0 },
            help: "",
        },
    ];

    #[test]
    fn accepts_valid_values_and_widens_ints_to_floats() {
        let mut p = Params::new();
        p.set(SPECS, "threshold", ParamValue::Int(7)).unwrap();
        p.set(SPECS, "p", ParamValue::Int(1)).unwrap();
        assert_eq!(p.int("threshold"), Some(7));
        assert_eq!(p.float("p"), Some(1.0));
    }

    #[test]
    fn rejects_out_of_range_wrong_type_and_unknown_keys() {
        let mut p = Params::new();
        let e = p.set(SPECS, "threshold", ParamValue::Int(70)).unwrap_err();
        assert!(e.contains("an integer in 0..=65"), "{e}");
        let e = p.set(SPECS, "threshold", ParamValue::Str("x".into())).unwrap_err();
        assert!(e.contains("found string \"x\""), "{e}");
        let e = p.set(SPECS, "treshold", ParamValue::Int(1)).unwrap_err();
        assert!(e.contains("did you mean `threshold`?"), "{e}");
        let e = p.set(SPECS, "face_cards", ParamValue::Str("tne".into())).unwrap_err();
        assert!(e.contains("did you mean \"ten\"?"), "{e}");
        assert_eq!(did_you_mean("xyz", ["rank", "ten"]), None);
        assert_eq!(
            did_you_mean("dhumbal-agressive", ["dhumbal-aggressive", "random"]),
            Some("dhumbal-aggressive")
        );
    }
}

/// A validated `game = { ... }` table: which game, which base rule set, how many players,
/// and the rule overrides (checked against the game's `ParamSpec`s).
#[derive(Debug, Clone, PartialEq)]
pub struct GameSpec {
    /// Registry name of the game.
    pub name: String,
    /// Named base rule set (game-specific; e.g. `paper`).
    pub rules: String,
    /// Players per table.
    pub players: usize,
    /// Rule overrides.
    pub params: Params,
}
