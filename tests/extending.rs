//! docs/extending.md, followed step by step from outside the crate: a toy game (Nim) and a
//! toy policy (Nim's winning strategy) are written against the public API, registered at
//! run time, and then validated, listed, conformance-checked and played from a scenario
//! exactly like the built-in ones. Registration mistakes are refused with clear messages.

use std::path::Path;
use std::sync::Once;

use mechsim::core::{Action, GameFacts, GameSpec, ParamKind, ParamSpec, Policy, SimRng, State, Turn};
use mechsim::core::{Game, MetricValue};
use mechsim::policies::{PolicyEntry, PolicyRole};
use mechsim::registry::{self, GameEntry, RegistryError, generic_policies, register_game, register_policy};
use mechsim::runner::RunOptions;
use mechsim::scenario::{self, Plan};

// Step 1: the rules. One heap of stones; a move takes 1, 2 or 3 (action ids 0, 1, 2);
// whoever takes the last stone wins.

#[derive(Debug, Clone)]
pub struct Nim {
    heap: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NimState {
    heap: u32,
    to_move: usize,
    moves: u32,
}

impl NimState {
    /// Moves made so far (the episodic tournament support reads it).
    pub fn moves(&self) -> u32 {
        self.moves
    }
}

impl Game for Nim {
    type State = NimState;
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn num_players(&self) -> usize {
        2
    }
    fn num_distinct_actions(&self) -> usize {
        3
    }
    fn observation_len(&self) -> usize {
        1
    }
    fn new_initial_state(&self, _rng: &mut SimRng) -> NimState {
        NimState {
            heap: self.heap,
            to_move: 0,
            moves: 0,
        }
    }
}

impl State for NimState {
    fn turn(&self) -> Turn {
        if self.heap == 0 {
            Turn::Terminal
        } else {
            Turn::Player(self.to_move)
        }
    }
    fn legal_actions(&self) -> Vec<Action> {
        (0..3).filter(|a| *a < self.heap).collect()
    }
    fn apply_action(&mut self, action: Action) {
        self.heap -= action + 1;
        self.moves += 1;
        if self.heap > 0 {
            self.to_move = 1 - self.to_move;
        }
    }
    fn returns(&self) -> Vec<f64> {
        match self.turn() {
            // The player who moved last took the last stone.
            Turn::Terminal => (0..2).map(|p| if p == self.to_move { 1.0 } else { -1.0 }).collect(),
            _ => vec![0.0, 0.0],
        }
    }
    fn observation(&self, _player: usize, out: &mut [f32]) {
        out[0] = self.heap as f32;
    }
    fn information_state_key(&self, _player: usize) -> u64 {
        u64::from(self.heap) << 1 | self.to_move as u64
    }
}

// Step 2: rounds at a table (episodic: no state between rounds).
mechsim::episodic_tournament!(Nim);

// Step 3: the facts the registry lists.
const NIM_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "heap",
    kind: ParamKind::Int { min: 1, max: 1000 },
    help: "stones at the start (7)",
}];

impl GameFacts for Nim {
    const NAME: &'static str = "nim";
    const HELP: &'static str = "one-heap Nim: take 1-3 stones, taking the last one wins";
    const RULE_SETS: &'static [&'static str] = &["standard"];
    const PLAYERS: (usize, usize) = (2, 2);
    const PARAMS: &'static [ParamSpec] = NIM_PARAMS;

    fn from_spec(spec: &GameSpec) -> Result<Self, String> {
        Self::players_of(spec)?;
        Ok(Nim {
            heap: spec.params.int("heap").unwrap_or(7) as u32,
        })
    }
}

// Step 4: a policy. Nim's winning move leaves a multiple of four stones.
struct Perfect;

impl Policy<Nim> for Perfect {
    fn act(&mut self, state: &NimState, _player: usize, _rng: &mut SimRng) -> Action {
        match state.heap % 4 {
            0 => 0,
            r => r - 1,
        }
    }
}

fn nim_policies() -> Vec<PolicyEntry<Nim>> {
    vec![PolicyEntry::new(
        "nim-perfect",
        "leaves a multiple of four stones when it can",
        |_| Ok(Box::new(Perfect)),
    )]
}

// Step 5: one registry line.
fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        register_game(GameEntry::new::<Nim>(&[generic_policies, nim_policies])).expect("a new game");
    });
}

const SCENARIO: &str = r#"name = "nim"
kind = "tournament"
seed = 5
seeds = 2
rounds = 40
rotation = "rotate"
game = { name = "nim", heap = 9 }

[[seats]]
policy = "nim-perfect"

[[seats]]
policy = "random"
"#;

#[test]
fn a_toy_game_and_policy_play_from_a_scenario_like_built_in_ones() {
    register();
    let entry = registry::game("nim").expect("listed");
    assert_eq!(entry.help, Nim::HELP);
    let roles: Vec<(&str, PolicyRole)> = entry.policies().iter().map(|p| (p.name, p.role)).collect();
    assert!(roles.contains(&("nim-perfect", PolicyRole::Plain)), "{roles:?}");
    assert!(roles.contains(&("random", PolicyRole::Plain)), "{roles:?}");

    let report = entry.conformance(50, 1).expect("Nim conforms");
    assert_eq!(report.episodes, 50 * 3, "default heap and both edge values of `heap`");

    let s = scenario::parse(Path::new("nim.toml"), SCENARIO).expect("valid");
    let Plan::Tournament(plan) = &s.plan else {
        panic!("a tournament")
    };
    let result = entry.run_tournament(plan, &RunOptions::default()).expect("runs");
    let rows: Vec<_> = result
        .replicates
        .iter()
        .flat_map(|r| r.rounds(result.columns))
        .collect();
    assert_eq!(rows.len(), 2 * 40 * 2);
    // With 9 stones the first mover wins with perfect play: so must nim-perfect.
    let first_moves = rows
        .iter()
        .filter(|(r, m)| r.participant == 0 && m.get("position") == Some(MetricValue::Int(0)));
    let mut count = 0;
    for (r, m) in first_moves {
        assert!(m.won, "nim-perfect lost a round it started: {r:?}");
        count += 1;
    }
    assert_eq!(count, 40, "it starts every other round");
    let perfect = &result.summary.participants[0];
    assert!(perfect.win_rate > 0.5, "{}", perfect.win_rate);
}

#[test]
fn scenario_validation_knows_the_toy_game_and_its_policies() {
    register();
    let bad = SCENARIO.replace("policy = \"nim-perfect\"", "policy = \"nim-perfekt\"");
    let e = scenario::parse(Path::new("nim.toml"), &bad).unwrap_err().to_string();
    assert!(
        e.contains("unknown policy \"nim-perfekt\" for nim; did you mean \"nim-perfect\"?"),
        "{e}"
    );
    let bad = SCENARIO.replace("heap = 9", "heap = 0");
    let e = scenario::parse(Path::new("nim.toml"), &bad).unwrap_err().to_string();
    assert!(e.contains("key `game.heap`") && e.contains("1..=1000"), "{e}");
}

#[test]
fn registration_mistakes_are_refused() {
    register();
    let e = register_game(GameEntry::new::<Nim>(&[generic_policies])).unwrap_err();
    assert_eq!(e, RegistryError::GameNameTaken("nim"));
    assert!(e.to_string().contains("\"nim\" is already registered"), "{e}");
    let e = register_policy(PolicyEntry::<Nim>::new("random", "a second random", |_| {
        Ok(Box::new(Perfect))
    }))
    .unwrap_err();
    assert!(e.to_string().contains("already has a policy named \"random\""), "{e}");
    // A run-time policy can be registered once.
    register_policy(PolicyEntry::<Nim>::new("nim-first", "the lowest legal action", |_| {
        Ok(Box::new(Perfect))
    }))
    .unwrap();
    let e = register_policy(PolicyEntry::<Nim>::new("nim-first", "again", |_| Ok(Box::new(Perfect)))).unwrap_err();
    assert_eq!(
        e,
        RegistryError::PolicyNameTaken {
            game: "nim",
            policy: "nim-first"
        }
    );

    #[derive(Clone)]
    struct Unlisted(Nim);
    impl Game for Unlisted {
        type State = NimState;
        fn name(&self) -> &'static str {
            "unlisted"
        }
        fn num_players(&self) -> usize {
            2
        }
        fn num_distinct_actions(&self) -> usize {
            3
        }
        fn observation_len(&self) -> usize {
            1
        }
        fn new_initial_state(&self, rng: &mut SimRng) -> NimState {
            self.0.new_initial_state(rng)
        }
    }
    mechsim::episodic_tournament!(Unlisted);
    impl GameFacts for Unlisted {
        const NAME: &'static str = "unlisted";
        const HELP: &'static str = "never registered";
        const RULE_SETS: &'static [&'static str] = &["standard"];
        const PLAYERS: (usize, usize) = (2, 2);
        const PARAMS: &'static [ParamSpec] = &[];
        fn from_spec(_: &GameSpec) -> Result<Self, String> {
            Ok(Unlisted(Nim { heap: 3 }))
        }
    }
    let e = register_policy(PolicyEntry::<Unlisted>::new("any", "any", |_| {
        Ok(Box::new(RandomFirst))
    }))
    .unwrap_err();
    assert!(e.to_string().contains("game `unlisted` is not registered"), "{e}");
    // Facts the registry cannot use are refused.
    #[derive(Clone)]
    struct NoRules(Nim);
    impl Game for NoRules {
        type State = NimState;
        fn name(&self) -> &'static str {
            "no_rules"
        }
        fn num_players(&self) -> usize {
            2
        }
        fn num_distinct_actions(&self) -> usize {
            3
        }
        fn observation_len(&self) -> usize {
            1
        }
        fn new_initial_state(&self, rng: &mut SimRng) -> NimState {
            self.0.new_initial_state(rng)
        }
    }
    mechsim::episodic_tournament!(NoRules);
    impl GameFacts for NoRules {
        const NAME: &'static str = "no_rules";
        const HELP: &'static str = "declares no rule set";
        const RULE_SETS: &'static [&'static str] = &[];
        const PLAYERS: (usize, usize) = (2, 2);
        const PARAMS: &'static [ParamSpec] = &[];
        fn from_spec(_: &GameSpec) -> Result<Self, String> {
            Ok(NoRules(Nim { heap: 3 }))
        }
    }
    let e = register_game(GameEntry::new::<NoRules>(&[generic_policies])).unwrap_err();
    assert!(e.to_string().contains("declares no rule set"), "{e}");
    assert!(registry::game("no_rules").is_none());
    // Two policies of one name in a game's lists are refused too.
    fn second_random() -> Vec<PolicyEntry<Unlisted>> {
        vec![PolicyEntry::new("random", "a second random", |_| {
            Ok(Box::new(RandomFirst))
        })]
    }
    let e = register_game(GameEntry::new::<Unlisted>(&[generic_policies, second_random])).unwrap_err();
    assert!(
        e.to_string().contains("two of its policies are named \"random\""),
        "{e}"
    );
    assert!(registry::game("unlisted").is_none());

    struct RandomFirst;
    impl Policy<Unlisted> for RandomFirst {
        fn act(&mut self, state: &NimState, _: usize, _: &mut SimRng) -> Action {
            state.legal_actions()[0]
        }
    }
}
