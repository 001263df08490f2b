//! `external`: an agent in any language, run as a child process that speaks JSON lines on
//! stdin/stdout (docs/protocol.md). One process per seat and table: started and sent the
//! hello when the table is set up (`Policy::start`; the answer is awaited at the first
//! decision, so all tables' agents start side by side), asked once per decision with the
//! player's own observation (requests of all tables go out before any answer is awaited),
//! told each round's own result, asked to exit when the table is done.
//!
//! The process is untrusted. Every failure of a decision (no answer by the deadline, a
//! malformed or illegal answer, the process gone) becomes a `PolicyFault` whose outcome the
//! scenario chooses (`on_error`): the rule set's fallback action for that decision, the
//! rest of the round forfeited, or the run aborted with an error naming the agent. A dead
//! process is restarted at the next round. Failing to start at all always aborts: the
//! scenario is wrong, not the agent's luck.

pub mod process;
pub mod protocol;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::{PolicyEntry, PolicyRole};
use crate::core::game::{Action, Game, State};
use crate::core::params::{ParamKind, ParamSpec, ParamValue, Params};
use crate::core::policy::{DecisionNote, FaultOutcome, Policy, PolicyFault, RoundReport, SeatInfo};
use crate::core::rng::SimRng;
use process::{AgentProcess, Incoming, Launch};
use protocol::{AnswerError, Decide, GameInfo, Hello, LegalAction, SeatHello};

/// Parameters of an `external` seat.
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "command",
        kind: ParamKind::StringList,
        help: "required: program and arguments, e.g. [\"python3\", \"agent.py\"] (paths relative to working_dir)",
    },
    ParamSpec {
        name: "working_dir",
        kind: ParamKind::Text,
        help: "the agent's working directory, relative to the scenario file (default: the scenario's folder)",
    },
    ParamSpec {
        name: "env",
        kind: ParamKind::StringMap,
        help: "environment variables for the agent (nothing is inherited otherwise), e.g. { PYTHONHASHSEED = \"0\" }",
    },
    ParamSpec {
        name: "inherit_env",
        kind: ParamKind::StringList,
        help: "names of mechsim's environment variables to pass through, e.g. [\"PATH\", \"HOME\"]",
    },
    ParamSpec {
        name: "timeout_ms",
        kind: ParamKind::Int { min: 1, max: 3_600_000 },
        help: "milliseconds per decision before it counts as a fault (default 1000)",
    },
    ParamSpec {
        name: "startup_timeout_ms",
        kind: ParamKind::Int { min: 1, max: 3_600_000 },
        help: "milliseconds for the agent to start and answer the hello (default 10000)",
    },
    ParamSpec {
        name: "on_error",
        kind: ParamKind::Choice(&["abort", "fallback", "forfeit_round"]),
        help: "a failed decision aborts the run (default), plays the rule set's fallback action, or forfeits the rest of the round",
    },
    ParamSpec {
        name: "max_faults",
        kind: ParamKind::Int {
            min: 0,
            max: 1_000_000_000,
        },
        help: "abort once more than this many decisions have failed at one table (default: no limit)",
    },
    ParamSpec {
        name: "observation",
        kind: ParamKind::Choice(&["both", "vector", "view"]),
        help: "what each decide message carries: the observation vector, the readable view, or both (default)",
    },
];

/// Registry entry (any game).
pub fn entry<G: Game>() -> PolicyEntry<G> {
    PolicyEntry::new(
        "external",
        "an agent in any language, run as a child process speaking JSON lines (docs/protocol.md)",
        |seat| {
            let config = ExternalConfig::from_params(seat.params, &std::env::current_dir().unwrap_or_default())?;
            Ok(Box::new(ExternalPolicy::new(seat.game, config)))
        },
    )
    .with_params(PARAMS)
    .with_role(PolicyRole::External)
    .with_prepare(prepare_seat)
}

/// What the readable and vector observations carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObservationParts {
    /// Vector and view.
    Both,
    /// The vector only.
    Vector,
    /// The view only.
    View,
}

/// A validated `external` seat.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalConfig {
    /// How to start the process.
    pub launch: Launch,
    /// Per decision.
    pub timeout: Duration,
    /// For starting and the handshake.
    pub startup_timeout: Duration,
    /// What a failed decision does.
    pub on_error: FaultOutcome,
    /// Abort after this many faults at one table.
    pub max_faults: Option<u64>,
    /// What decide messages carry.
    pub observation: ObservationParts,
}

impl ExternalConfig {
    /// Reads validated parameters; a relative `working_dir` is taken from `base`.
    pub fn from_params(params: &Params, base: &Path) -> Result<Self, String> {
        let command = params
            .list("command")
            .ok_or("an external seat needs `command`, e.g. command = [\"python3\", \"agent.py\"]")?
            .to_vec();
        let working_dir = match params.str("working_dir") {
            Some(dir) => base.join(dir),
            None => base.to_path_buf(),
        };
        if !working_dir.is_dir() {
            return Err(format!("`working_dir` {} is not a directory", working_dir.display()));
        }
        let mut env = BTreeMap::new();
        for name in params.list("inherit_env").unwrap_or_default() {
            if let Ok(value) = std::env::var(name) {
                env.insert(name.clone(), value);
            }
        }
        for (k, v) in params.map("env").into_iter().flatten() {
            env.insert(k.clone(), v.clone());
        }
        let ms = |key: &str, default: i64| Duration::from_millis(params.int(key).unwrap_or(default) as u64);
        Ok(ExternalConfig {
            launch: Launch {
                command,
                working_dir,
                env,
            },
            timeout: ms("timeout_ms", 1000),
            startup_timeout: ms("startup_timeout_ms", 10_000),
            on_error: match params.str("on_error") {
                Some("fallback") => FaultOutcome::Fallback,
                Some("forfeit_round") => FaultOutcome::ForfeitRound,
                _ => FaultOutcome::Abort,
            },
            max_faults: params.int("max_faults").map(|n| n as u64),
            observation: match params.str("observation") {
                Some("vector") => ObservationParts::Vector,
                Some("view") => ObservationParts::View,
                _ => ObservationParts::Both,
            },
        })
    }
}

/// Checks an `external` seat's parameters against the scenario file's folder `base` and
/// records the absolute working directory, so the run does not depend on where mechsim
/// was started. Errors name the key and say what would be valid.
pub fn prepare_seat(params: &mut Params, base: &Path) -> Result<(), (&'static str, String)> {
    let config = ExternalConfig::from_params(params, base).map_err(|m| {
        let key = if m.contains("working_dir") {
            "working_dir"
        } else {
            "command"
        };
        (key, m)
    })?;
    let program = &config.launch.command[0];
    process::resolve_program(
        program,
        &config.launch.working_dir,
        config.launch.env.get("PATH").map(String::as_str),
    )
    .map_err(|m| ("command", m))?;
    let absolute = std::path::absolute(&config.launch.working_dir).unwrap_or(config.launch.working_dir);
    params.insert_derived("working_dir", ParamValue::Str(absolute.display().to_string()));
    Ok(())
}

/// An external agent playing one seat at one table.
pub struct ExternalPolicy {
    config: ExternalConfig,
    game: GameInfo,
    labels: Vec<String>,
    seat: Option<SeatState>,
    process: Option<AgentProcess>,
    /// Why the process is gone, for the faults that follow.
    gone: Option<String>,
    restart_next_round: bool,
    /// When the outstanding hello must be answered by.
    handshake_deadline: Option<Instant>,
    /// Whether a handshake ever succeeded (a first failure is fatal).
    started: bool,
    /// Why the agent could not start at all.
    fatal: Option<String>,
    pending: Option<Pending>,
    /// The legal actions `prepare` computed for the decision `act` answers next.
    legal: Option<Vec<Action>>,
    next_id: u64,
    round: u64,
    decision: u32,
    forfeited: bool,
    faults: u64,
    observation: Vec<f32>,
    note: Option<DecisionNote>,
}

#[derive(Debug, Clone)]
struct SeatState {
    participant: usize,
    label: String,
    table: usize,
    seed: u64,
    agent_name: String,
}

impl ExternalPolicy {
    /// A policy for `game`; the process starts in `Policy::start`.
    pub fn new<G: Game>(game: &G, config: ExternalConfig) -> Self {
        let labels = (0..game.num_distinct_actions() as Action)
            .map(|a| game.action_label(a))
            .collect();
        ExternalPolicy {
            config,
            game: GameInfo {
                name: game.name(),
                players: game.num_players(),
                num_actions: game.num_distinct_actions(),
                observation_len: game.observation_len(),
                rules: game.rules_json(),
            },
            labels,
            seat: None,
            process: None,
            gone: None,
            restart_next_round: false,
            handshake_deadline: None,
            started: false,
            fatal: None,
            pending: None,
            legal: None,
            next_id: 0,
            round: 0,
            decision: 0,
            forfeited: false,
            faults: 0,
            observation: vec![0.0; game.observation_len()],
            note: None,
        }
    }

    /// The name the agent gave in its handshake, once it has answered.
    pub fn agent_name(&self) -> Option<&str> {
        self.seat
            .as_ref()
            .map(|s| s.agent_name.as_str())
            .filter(|n| !n.is_empty())
    }

    fn who(&self) -> String {
        match &self.seat {
            Some(s) if !s.agent_name.is_empty() => format!(
                "external agent `{}` (\"{}\", `{}`)",
                s.label,
                s.agent_name,
                self.config.launch.command.join(" ")
            ),
            Some(s) => format!(
                "external agent `{}` (`{}`)",
                s.label,
                self.config.launch.command.join(" ")
            ),
            None => format!("external agent `{}`", self.config.launch.command.join(" ")),
        }
    }

    /// Starts the process and sends the hello; the answer is read by `finish_handshake`
    /// (at the first decision), so the agents of all tables start side by side.
    fn launch(&mut self) -> Result<(), String> {
        let seat = self.seat.clone().ok_or("the agent was never seated")?;
        let mut process = AgentProcess::spawn(&self.config.launch)?;
        process.send(&Hello::line(
            &self.game,
            SeatHello {
                participant: seat.participant,
                label: &seat.label,
                table: seat.table,
            },
            seat.seed,
            self.config.timeout.as_millis() as u64,
        ));
        self.process = Some(process);
        self.handshake_deadline = Some(Instant::now() + self.config.startup_timeout);
        self.gone = None;
        Ok(())
    }

    /// Waits for the answer to the hello, if one is outstanding. A failure to start the
    /// first time is fatal (the scenario is wrong); after a restart the process is lost.
    fn finish_handshake(&mut self) {
        let (Some(deadline), Some(process)) = (self.handshake_deadline.take(), self.process.as_mut()) else {
            return;
        };
        let answer = match process.recv(deadline) {
            None => Err(format!(
                "did not answer the hello within {} ms",
                self.config.startup_timeout.as_millis()
            )),
            Some(Incoming::Line(line)) => protocol::parse_hello(&line).map(|h| h.name),
            Some(Incoming::Closed) => Err(format!(
                "exited before answering the hello ({})",
                process.exit_status().unwrap_or_else(|| "still running".into())
            )),
            Some(Incoming::TooLong | Incoming::NotUtf8) => Err("answered the hello with an unreadable line".into()),
        };
        match answer {
            Ok(name) => {
                if let Some(s) = &mut self.seat {
                    s.agent_name = name;
                }
                self.started = true;
            }
            Err(e) => {
                let e = with_stderr(e, &process.stderr_tail());
                if let Some(mut p) = self.process.take() {
                    p.shut_down(None);
                }
                if self.started {
                    self.gone = Some(format!("could not be restarted: {e}"));
                    self.restart_next_round = true;
                } else {
                    self.fatal = Some(format!("could not start: {e}"));
                }
            }
        }
    }

    /// Records a failed decision and returns a placeholder action (the world plays the
    /// rule set's fallback instead).
    fn fault(&mut self, kind: &'static str, detail: String, legal: &[Action]) -> Action {
        // `max_faults` counts failed answers, not the decisions skipped after one (the rest
        // of a forfeited round, or the wait for a crashed process's restart).
        let skipped = kind == "forfeited" || (kind == "exited" && self.process.is_none() && self.gone.is_some());
        if !skipped {
            self.faults += 1;
        }
        let mut outcome = self.config.on_error;
        let mut message = format!(
            "{} at table {} round {} decision {}: {detail}",
            self.who(),
            self.seat.as_ref().map_or(0, |s| s.table),
            self.round,
            self.decision
        );
        if let Some(max) = self.config.max_faults
            && self.faults > max
        {
            outcome = FaultOutcome::Abort;
            message = format!("{message} (more than max_faults = {max} failed decisions at this table)");
        }
        if outcome == FaultOutcome::ForfeitRound {
            self.forfeited = true;
        }
        self.note = Some(DecisionNote {
            fault: Some(PolicyFault { kind, outcome, message }),
            ..DecisionNote::default()
        });
        legal[0]
    }

    /// The process is gone (exited, or never restarted): remember why, restart next round.
    fn lose_process(&mut self, why: String) {
        if let Some(mut p) = self.process.take() {
            p.shut_down(None);
        }
        self.gone = Some(why);
        self.restart_next_round = true;
    }

    /// Sends the decide message for `player` at `state` (restarting a lost process at the
    /// start of a round first); `act` then waits for the answer.
    fn request<S: State>(&mut self, state: &S, player: usize, legal: &[Action]) {
        if self.forfeited || self.pending.is_some() {
            return;
        }
        if self.process.is_none() && self.restart_next_round && self.decision == 0 {
            self.restart_next_round = false;
            if let Err(e) = self.launch() {
                self.gone = Some(format!("could not be restarted: {e}"));
            }
        }
        self.finish_handshake();
        let Some(process) = self.process.as_mut() else { return };
        self.next_id += 1;
        let id = self.next_id;
        let view = match self.config.observation {
            ObservationParts::Vector => None,
            _ => Some(state.observation_view(player)),
        };
        let vector = match self.config.observation {
            ObservationParts::View => None,
            _ => {
                state.observation(player, &mut self.observation);
                Some(self.observation.as_slice())
            }
        };
        let message = Decide::new(
            id,
            self.seat.as_ref().map_or(0, |s| s.table),
            self.round,
            self.decision,
            player,
            self.config.timeout.as_millis() as u64,
            legal
                .iter()
                .map(|a| LegalAction {
                    id: *a,
                    label: self.labels.get(*a as usize).map_or("", String::as_str),
                })
                .collect(),
            vector,
            view.as_ref(),
        );
        process.send(&message.line());
        self.pending = Some(Pending {
            id,
            deadline: Instant::now() + self.config.timeout,
        });
    }

    /// Waits for the answer to the open request and checks it.
    fn answer(&mut self, legal: &[Action]) -> Action {
        if let Some(e) = self.fatal.clone() {
            // Whatever on_error says: an agent that never started means a wrong scenario.
            self.note = Some(DecisionNote {
                fault: Some(PolicyFault {
                    kind: "exited",
                    outcome: FaultOutcome::Abort,
                    message: format!("{} {e}", self.who()),
                }),
                ..DecisionNote::default()
            });
            return legal[0];
        }
        if self.forfeited {
            return self.fault(
                "forfeited",
                "the round was forfeited after an earlier fault".into(),
                legal,
            );
        }
        let Some(Pending { id, deadline }) = self.pending.take() else {
            let why = self.gone.clone().unwrap_or_else(|| "is not running".into());
            return self.fault("exited", why, legal);
        };
        loop {
            let Some(process) = self.process.as_mut() else {
                unreachable!("a request is only open while the process runs")
            };
            match process.recv(deadline) {
                None => {
                    let ms = self.config.timeout.as_millis();
                    return self.fault("timeout", format!("no answer within {ms} ms"), legal);
                }
                Some(Incoming::Line(line)) if line.trim().is_empty() => {}
                Some(Incoming::Line(line)) => match protocol::parse_answer(&line, id, legal) {
                    Err(AnswerError::Stale(_)) => {}
                    Err(AnswerError::Malformed(m)) => return self.fault("malformed", m, legal),
                    Ok(answer) => {
                        if legal.binary_search(&answer.action).is_err() {
                            let label = self.labels.get(answer.action as usize).cloned().unwrap_or_default();
                            return self.fault(
                                "illegal",
                                format!(
                                    "answered action {} ({}), which is not legal here (legal: {:?})",
                                    answer.action,
                                    if label.is_empty() { "no such action" } else { &label },
                                    legal
                                ),
                                legal,
                            );
                        }
                        self.note = Some(DecisionNote {
                            value: answer.value,
                            win_probability: answer.win_probability,
                            probabilities: answer.probabilities,
                            fault: None,
                        });
                        return answer.action;
                    }
                },
                Some(Incoming::TooLong) => {
                    return self.fault(
                        "malformed",
                        format!("answered a line longer than {} bytes", process::MAX_LINE_BYTES),
                        legal,
                    );
                }
                Some(Incoming::NotUtf8) => {
                    return self.fault("malformed", "answered a line that is not UTF-8".into(), legal);
                }
                Some(Incoming::Closed) => {
                    let status = process.exit_status().unwrap_or_else(|| "closed its stdout".into());
                    let tail = process.stderr_tail();
                    let why = with_stderr(format!("exited ({status})"), &tail);
                    let action = self.fault("exited", why.clone(), legal);
                    self.lose_process(why);
                    return action;
                }
            }
        }
    }
}

impl ExternalPolicy {
    /// The legal actions of the decision at hand: computed by `prepare`, taken by `act`.
    fn legal_for<S: State>(&mut self, state: &S) -> Vec<Action> {
        self.legal.take().unwrap_or_else(|| state.legal_actions())
    }
}

/// An open decide request.
#[derive(Debug, Clone, Copy)]
struct Pending {
    id: u64,
    deadline: Instant,
}

fn with_stderr(message: String, tail: &str) -> String {
    if tail.trim().is_empty() {
        format!("{message}; it wrote nothing on stderr")
    } else {
        format!("{message}; its stderr ended with:\n{tail}")
    }
}

impl<G: Game> Policy<G> for ExternalPolicy {
    fn prepare(&mut self, state: &G::State, player: usize) {
        let legal = self.legal_for(state);
        self.request(state, player, &legal);
        self.legal = Some(legal);
    }

    fn act(&mut self, state: &G::State, player: usize, _rng: &mut SimRng) -> Action {
        self.note = None;
        let legal = self.legal_for(state);
        self.request(state, player, &legal);
        let action = self.answer(&legal);
        self.decision += 1;
        action
    }

    fn start(&mut self, seat: &SeatInfo<'_>) -> Result<(), String> {
        self.seat = Some(SeatState {
            participant: seat.participant,
            label: seat.label.to_string(),
            table: seat.table,
            seed: seat.seed,
            agent_name: String::new(),
        });
        self.launch()
            .map_err(|e| format!("{} could not start: {e}", self.who()))
    }

    fn round_over(&mut self, report: &RoundReport<'_>) {
        if let Some(process) = self.process.as_mut() {
            let metrics: Map<String, Value> = report
                .metrics
                .values
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.to_json()))
                .collect();
            process.send(&protocol::round_over_line(
                report.table,
                report.round,
                report.player,
                report.metrics.won,
                report.metrics.payoff,
                metrics,
            ));
        }
        self.round = report.round + 1;
        self.decision = 0;
        self.forfeited = false;
    }

    fn last_note(&mut self) -> Option<DecisionNote> {
        self.note.take()
    }

    fn stop(&mut self) {
        if let Some(p) = self.process.as_mut() {
            p.begin_shutdown(Some(&protocol::shutdown_line()));
        }
    }
}

impl Drop for ExternalPolicy {
    fn drop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.shut_down(Some(&protocol::shutdown_line()));
        }
    }
}
