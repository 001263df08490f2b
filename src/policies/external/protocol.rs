//! The external-agent protocol, version 1: the messages mechsim writes (one JSON object per
//! line) and the checks on what an agent answers. docs/protocol.md is the user-facing
//! description of the same thing; the tests below pin the wire format it documents.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::game::Action;

/// The protocol version mechsim speaks (sent in `hello`; an agent declaring another is
/// refused).
pub const PROTOCOL_VERSION: u64 = 1;

/// What the handshake tells the agent about the game.
#[derive(Debug, Clone, Serialize)]
pub struct GameInfo {
    /// Registry name, e.g. `dhumbal`.
    pub name: &'static str,
    /// Players at the table.
    pub players: usize,
    /// Size of the action id space.
    pub num_actions: usize,
    /// Length of the observation vector.
    pub observation_len: usize,
    /// Every rule in force.
    pub rules: Value,
}

/// Who the agent plays for.
#[derive(Debug, Clone, Serialize)]
pub struct SeatHello<'a> {
    /// Participant index (the scenario's `[[seats]]` entry).
    pub participant: usize,
    /// Its label.
    pub label: &'a str,
    /// Table index within the replicate.
    pub table: usize,
}

/// `{"type":"hello", ...}`: the first line an agent reads.
#[derive(Debug, Serialize)]
pub struct Hello<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    protocol: u64,
    game: &'a GameInfo,
    seat: SeatHello<'a>,
    seed: u64,
    timeout_ms: u64,
}

impl<'a> Hello<'a> {
    /// The handshake line.
    pub fn line(game: &'a GameInfo, seat: SeatHello<'a>, seed: u64, timeout_ms: u64) -> String {
        serde_json::to_string(&Hello {
            kind: "hello",
            protocol: PROTOCOL_VERSION,
            game,
            seat,
            seed,
            timeout_ms,
        })
        .expect("plain data serialises")
    }
}

/// One legal action as sent.
#[derive(Debug, Serialize)]
pub struct LegalAction<'a> {
    /// The action id to answer with.
    pub id: Action,
    /// Its readable label.
    pub label: &'a str,
}

/// `{"type":"decide", ...}`: one decision.
#[derive(Debug, Serialize)]
pub struct Decide<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// Request id; the answer must repeat it.
    pub id: u64,
    /// Table index.
    pub table: usize,
    /// Round index at the table.
    pub round: u64,
    /// The agent's decision number within the round (from 0).
    pub decision: u32,
    /// The agent's position in this round.
    pub player: usize,
    /// Milliseconds the agent has to answer.
    pub deadline_ms: u64,
    /// Legal actions, ascending by id.
    pub legal: Vec<LegalAction<'a>>,
    /// The game's observation vector, if sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observation: Option<&'a [f32]>,
    /// The readable observation, if sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<&'a Value>,
}

impl<'a> Decide<'a> {
    /// A decide message (`observation` and `view` optional).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u64,
        table: usize,
        round: u64,
        decision: u32,
        player: usize,
        deadline_ms: u64,
        legal: Vec<LegalAction<'a>>,
        observation: Option<&'a [f32]>,
        view: Option<&'a Value>,
    ) -> Self {
        Decide {
            kind: "decide",
            id,
            table,
            round,
            decision,
            player,
            deadline_ms,
            legal,
            observation,
            view,
        }
    }

    /// The line to send.
    pub fn line(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }
}

/// `{"type":"round_over", ...}`: the participant's own result of a round.
pub fn round_over_line(
    table: usize,
    round: u64,
    player: usize,
    won: bool,
    payoff: f64,
    metrics: Map<String, Value>,
) -> String {
    serde_json::json!({
        "type": "round_over",
        "table": table,
        "round": round,
        "player": player,
        "won": won,
        "payoff": payoff,
        "metrics": metrics,
    })
    .to_string()
}

/// `{"type":"shutdown"}`.
pub fn shutdown_line() -> String {
    r#"{"type":"shutdown"}"#.to_string()
}

/// The agent's handshake answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HelloAnswer {
    /// The name the agent gives itself.
    pub name: String,
}

/// Checks the agent's answer to `hello`.
pub fn parse_hello(line: &str) -> Result<HelloAnswer, String> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| format!("answer is not JSON ({e}): {}", excerpt(line)))?;
    let object = value
        .as_object()
        .ok_or_else(|| format!("answer must be a JSON object: {}", excerpt(line)))?;
    if object.get("type").and_then(Value::as_str) != Some("hello") {
        return Err(format!(
            "the first answer must be {{\"type\":\"hello\",\"name\":...}}, got {}",
            excerpt(line)
        ));
    }
    match object.get("protocol") {
        None => {}
        Some(v) if v.as_u64() == Some(PROTOCOL_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "the agent speaks protocol {v}; this mechsim speaks protocol {PROTOCOL_VERSION}"
            ));
        }
    }
    let name = match object.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(format!(
                "hello must carry a non-empty string \"name\": {}",
                excerpt(line)
            ));
        }
    };
    Ok(HelloAnswer { name })
}

/// What an agent answered to a decide message.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The request id it answers.
    pub id: u64,
    /// The chosen action.
    pub action: Action,
    /// Its action probabilities, if given.
    pub probabilities: Vec<(Action, f64)>,
    /// Its value estimate, if given.
    pub value: Option<f64>,
    /// Its win probability, if given.
    pub win_probability: Option<f64>,
}

/// A line that is not a well-formed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerError {
    /// An answer to an earlier request (after a timeout): skipped.
    Stale(u64),
    /// Anything else: the message says what.
    Malformed(String),
}

/// Parses and checks an answer to request `expected_id`. Legality of the action is checked
/// by the caller (it knows the state); the probabilities must be over legal actions.
pub fn parse_answer(line: &str, expected_id: u64, legal: &[Action]) -> Result<Answer, AnswerError> {
    let bad = AnswerError::Malformed;
    let value: Value =
        serde_json::from_str(line).map_err(|e| bad(format!("answer is not JSON ({e}): {}", excerpt(line))))?;
    let object = value
        .as_object()
        .ok_or_else(|| bad(format!("answer must be a JSON object: {}", excerpt(line))))?;
    let id = object
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad(format!("answer lacks the request's integer \"id\": {}", excerpt(line))))?;
    if id < expected_id {
        return Err(AnswerError::Stale(id));
    }
    if id != expected_id {
        return Err(bad(format!(
            "answer has id {id}, but the open request is {expected_id}"
        )));
    }
    if let Some(kind) = object.get("type")
        && kind.as_str() != Some("action")
    {
        return Err(bad(format!("answer type must be \"action\", got {kind}")));
    }
    let action = object
        .get("action")
        .and_then(Value::as_u64)
        .and_then(|a| Action::try_from(a).ok())
        .ok_or_else(|| bad(format!("answer lacks an integer \"action\" id: {}", excerpt(line))))?;
    let number = |key: &str, lo: f64, hi: f64| -> Result<Option<f64>, AnswerError> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() && x >= lo && x <= hi => Ok(Some(x)),
                _ => Err(bad(format!("\"{key}\" must be a number in [{lo}, {hi}], got {v}"))),
            },
        }
    };
    let value = number("value", -1e300, 1e300)?;
    let win_probability = number("win_probability", 0.0, 1.0)?;
    let probabilities = match object.get("probabilities") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => {
            let mut out = Vec::with_capacity(map.len());
            for (k, v) in map {
                let a: Action = k
                    .parse()
                    .map_err(|_| bad(format!("\"probabilities\" keys must be action ids, got \"{k}\"")))?;
                if legal.binary_search(&a).is_err() {
                    return Err(bad(format!("\"probabilities\" names action {a}, which is not legal")));
                }
                match v.as_f64() {
                    Some(p) if p.is_finite() && (0.0..=1.0).contains(&p) => out.push((a, p)),
                    _ => return Err(bad(format!("probability of action {a} must be in [0, 1], got {v}"))),
                }
            }
            let total: f64 = out.iter().map(|(_, p)| p).sum();
            if (total - 1.0).abs() > 1e-3 {
                return Err(bad(format!("\"probabilities\" sum to {total}, not 1")));
            }
            out.sort_by_key(|(a, _)| *a);
            out
        }
        Some(other) => {
            return Err(bad(format!(
                "\"probabilities\" must be an object {{\"<action id>\": p, ...}}, got {other}"
            )));
        }
    };
    Ok(Answer {
        id,
        action,
        probabilities,
        value,
        win_probability,
    })
}

/// At most 200 characters of an agent's line, for messages.
pub fn excerpt(line: &str) -> String {
    if line.len() <= 200 {
        format!("`{line}`")
    } else {
        format!(
            "`{} ...` ({} bytes)",
            &line[..line.floor_char_boundary(200)],
            line.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_format_is_as_documented() {
        let game = GameInfo {
            name: "dhumbal",
            players: 2,
            num_actions: 4,
            observation_len: 2,
            rules: serde_json::json!({"jhyap_threshold": 10}),
        };
        let hello = Hello::line(
            &game,
            SeatHello {
                participant: 1,
                label: "py",
                table: 0,
            },
            7,
            500,
        );
        assert_eq!(
            hello,
            r#"{"type":"hello","protocol":1,"game":{"name":"dhumbal","players":2,"num_actions":4,"observation_len":2,"rules":{"jhyap_threshold":10}},"seat":{"participant":1,"label":"py","table":0},"seed":7,"timeout_ms":500}"#
        );
        let view = serde_json::json!({"hand": ["AC"]});
        let obs = [0.0f32, 1.0];
        let decide = Decide::new(
            3,
            0,
            2,
            1,
            1,
            500,
            vec![LegalAction { id: 0, label: "call" }],
            Some(&obs),
            Some(&view),
        );
        assert_eq!(
            decide.line(),
            r#"{"type":"decide","id":3,"table":0,"round":2,"decision":1,"player":1,"deadline_ms":500,"legal":[{"id":0,"label":"call"}],"observation":[0.0,1.0],"view":{"hand":["AC"]}}"#
        );
    }

    #[test]
    fn answers_are_checked() {
        let legal = [0, 1, 5];
        let a = parse_answer(
            r#"{"type":"action","id":4,"action":5,"probabilities":{"5":0.75,"0":0.25},"value":-2.5,"win_probability":0.3}"#,
            4,
            &legal,
        )
        .unwrap();
        assert_eq!(a.action, 5);
        assert_eq!(a.probabilities, vec![(0, 0.25), (5, 0.75)]);
        assert_eq!(a.value, Some(-2.5));
        assert_eq!(a.win_probability, Some(0.3));
        assert_eq!(
            parse_answer(r#"{"id":3,"action":1}"#, 4, &legal),
            Err(AnswerError::Stale(3))
        );
        let malformed = |line: &str| match parse_answer(line, 4, &legal) {
            Err(AnswerError::Malformed(m)) => m,
            other => panic!("{line}: {other:?}"),
        };
        assert!(malformed("hello there").contains("not JSON"));
        assert!(malformed("[1,2]").contains("JSON object"));
        assert!(malformed(r#"{"action":1}"#).contains("\"id\""));
        assert!(malformed(r#"{"id":9,"action":1}"#).contains("open request is 4"));
        assert!(malformed(r#"{"id":4,"action":"call"}"#).contains("integer \"action\""));
        assert!(malformed(r#"{"id":4,"action":1,"probabilities":{"3":1.0}}"#).contains("not legal"));
        assert!(malformed(r#"{"id":4,"action":1,"probabilities":{"1":0.5}}"#).contains("sum to 0.5"));
        assert!(malformed(r#"{"id":4,"action":1,"win_probability":2}"#).contains("[0, 1]"));
        assert!(malformed(r#"{"id":4,"type":"hello","action":1}"#).contains("\"action\""));
    }

    #[test]
    fn the_handshake_is_checked() {
        assert_eq!(
            parse_hello(r#"{"type":"hello","name":"py","protocol":1}"#)
                .unwrap()
                .name,
            "py"
        );
        assert!(
            parse_hello(r#"{"type":"hello","name":"py","protocol":2}"#)
                .unwrap_err()
                .contains("protocol 2")
        );
        assert!(parse_hello(r#"{"type":"hello"}"#).unwrap_err().contains("\"name\""));
        assert!(parse_hello(r#"{"id":1}"#).unwrap_err().contains("first answer"));
    }
}
