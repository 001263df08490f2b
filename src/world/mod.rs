//! The only bevy_ecs user: a tournament as a World. Tables and seats are entities; a round's
//! phases are systems (deal -> request -> decide -> apply -> settle) run in a fixed chain on the
//! single-threaded executor with ambiguity detection on. One World per (scenario, replicate);
//! parallelism is across Worlds (see `runner`). Many tables run side by side in one World,
//! each advancing one decision per schedule run, so a batched policy could later answer every
//! waiting table at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings, SingleThreadedExecutor};

pub mod adload;
pub mod information;
pub mod training;

use crate::core::error::{Error, Result};
use crate::core::game::{Action, State, Turn};
use crate::core::policy::{DecisionNote, FaultOutcome, Policy, RoundReport, SearchStats, SeatInfo};
use crate::core::rng::{SimRng, Stream, derive_seed};
use crate::core::tournament::{SeatMetrics, Tournament};

/// A schedule for a World's phases: run in order on the single-threaded executor, with
/// ambiguity detection as an error (two systems touching the same data unordered is a bug).
pub(crate) fn phase_schedule() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.set_executor(SingleThreadedExecutor::new());
    schedule.set_build_settings(ScheduleBuildSettings {
        ambiguity_detection: LogLevel::Error,
        ..Default::default()
    });
    schedule
}

/// How participants are seated round to round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Participant i always sits at position i.
    None,
    /// In round r, position p holds participant (p + r) mod n, so every participant
    /// plays every position equally often.
    Rotate,
    /// Duplicate deals (common random numbers): rounds come in blocks of n that replay the
    /// same deal (same round seed) with the seating rotated as in `Rotate`, so every
    /// participant plays every position of every deal.
    Duplicate,
}

impl Rotation {
    /// Index of the deal played in `round` (its random stream): the round itself, or the
    /// block of `participants` rounds for duplicate deals.
    pub fn deal(self, participants: usize, round: u64) -> u64 {
        match self {
            Rotation::Duplicate => round / participants.max(1) as u64,
            _ => round,
        }
    }

    /// Participant at each position in `round`.
    pub fn order(self, participants: usize, round: u64) -> Vec<usize> {
        match self {
            Rotation::None => (0..participants).collect(),
            Rotation::Rotate | Rotation::Duplicate => (0..participants)
                .map(|p| (p + (round % participants as u64) as usize) % participants)
                .collect(),
        }
    }
}

/// One participant's finished round, as recorded by the world.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundRow {
    /// Table index within the replicate.
    pub table: usize,
    /// Round index within the table.
    pub round: u64,
    /// Participant index (the scenario's `[[seats]]` entry).
    pub participant: usize,
    /// What the game reports.
    pub metrics: SeatMetrics,
    /// Decisions the participant took this round.
    pub decisions: u32,
    /// Wall time spent in those decisions (not reproducible; kept out of rounds.csv).
    pub decision_ns: u64,
    /// Illegal actions replaced by the rule set's fallback.
    pub illegal_actions: u32,
    /// Failed decisions (external agents: timeouts, malformed answers, exits) this round.
    pub faults: u32,
    /// Whether the participant forfeited the round (its policy failed under
    /// `on_error = "forfeit_round"`).
    pub forfeited: bool,
}

/// Builds one fresh policy per participant (called once per table).
pub type PolicyFactory<G> = Box<dyn Fn() -> Result<Vec<Box<dyn Policy<G>>>> + Send + Sync>;

/// One logged decision: a search policy's statistics or an external agent's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    /// Table index within the replicate.
    pub table: usize,
    /// Round index within the table.
    pub round: u64,
    /// Participant index.
    pub participant: usize,
    /// The participant's decision number within the round (from 0).
    pub decision: u32,
    /// The action chosen.
    pub action: Action,
    /// Its readable label.
    pub action_label: String,
    /// The search's statistics (search policies).
    pub stats: Option<SearchStats>,
    /// What the policy reported besides the action (external agents), fault included.
    pub note: Option<DecisionNote>,
    /// Wall time of the decision (not reproducible).
    pub wall_ns: u64,
}

/// What one replicate produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicateRows {
    /// One row per round x participant, sorted by (table, round, participant).
    pub rounds: Vec<RoundRow>,
    /// One row per search decision, sorted by (table, round, participant, decision).
    pub decisions: Vec<DecisionRow>,
}

/// A tournament replicate to run.
pub struct TournamentSetup<G: Tournament> {
    /// The game.
    pub game: G,
    /// The replicate seed (tables derive theirs from it).
    pub replicate_seed: u64,
    /// Rounds for the whole replicate, split over the tables.
    pub rounds: u64,
    /// Tables side by side in the World.
    pub tables: usize,
    /// Seating rule.
    pub rotation: Rotation,
    /// Policy constructors, one per participant, called once per table.
    pub make_policies: PolicyFactory<G>,
    /// Participant labels (for error messages).
    pub labels: Vec<String>,
    /// Abort on an illegal action instead of replacing it.
    pub abort_on_illegal: bool,
    /// Called with the number of rounds just finished (progress reporting).
    pub on_progress: Arc<dyn Fn(u64) + Send + Sync>,
    /// Shared by the replicates of one run: set when one fails, so the others stop early.
    pub cancel: Arc<AtomicBool>,
}

#[derive(Resource)]
struct GameRes<G: Tournament>(G);

#[derive(Resource)]
struct Config {
    rotation: Rotation,
    participants: usize,
    abort_on_illegal: bool,
    labels: Vec<String>,
    /// The participant whose decisions a batched learner makes (training worlds only).
    learner: Option<usize>,
}

#[derive(Resource, Default)]
struct RoundLog(Vec<RoundRow>);

#[derive(Resource, Default)]
struct DecisionLog(Vec<DecisionRow>);

#[derive(Resource)]
struct Remaining(u64);

#[derive(Resource, Default)]
struct Failure(Option<String>);

#[derive(Resource)]
struct Progress(Arc<dyn Fn(u64) + Send + Sync>);

#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    decisions: u32,
    decision_ns: u64,
    illegal: u32,
    faults: u32,
    forfeited: bool,
}

/// A table: its game state, ledger and seating.
#[derive(Component)]
struct Table<G: Tournament> {
    index: usize,
    seed: u64,
    ledger: G::Ledger,
    state: Option<G::State>,
    chance_rng: SimRng,
    /// Participant of each player of the current state.
    players: Vec<usize>,
    /// Seat entity of each participant.
    seats: Vec<Entity>,
    round: u64,
    rounds_total: u64,
    pending: Option<Action>,
    tallies: Vec<Tally>,
}

/// A seat: one participant's policy and its private random stream.
#[derive(Component)]
struct Seat<G: Tournament> {
    policy: Mutex<Box<dyn Policy<G>>>,
    rng: SimRng,
}

fn deal<G: Tournament>(game: Res<GameRes<G>>, config: Res<Config>, mut tables: Query<&mut Table<G>>) {
    for mut table in &mut tables {
        if table.state.is_some() || table.round >= table.rounds_total {
            continue;
        }
        let round = table.round;
        let order = config.rotation.order(config.participants, round);
        let deal = config.rotation.deal(config.participants, round);
        let mut rng = SimRng::new(derive_seed(table.seed, Stream::Round, deal));
        let (state, players) = game.0.start_round(&table.ledger, &order, round, &mut rng);
        table.chance_rng = rng;
        table.players = players;
        table.state = Some(state);
        table.tallies = vec![Tally::default(); config.participants];
    }
}

/// Lets every waiting seat's policy see its decision before any table decides (external
/// agents send their requests here, so separate processes think side by side).
fn request<G: Tournament>(config: Res<Config>, tables: Query<&Table<G>>, mut seats: Query<&mut Seat<G>>) {
    for table in &tables {
        let Some(state) = table.state.as_ref() else { continue };
        let Turn::Player(player) = state.turn() else { continue };
        let participant = table.players[player];
        if config.learner == Some(participant) {
            continue;
        }
        if let Ok(mut seat) = seats.get_mut(table.seats[participant]) {
            let policy = seat.policy.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
            policy.prepare(state, player);
        }
    }
}

fn decide<G: Tournament>(
    game: Res<GameRes<G>>,
    config: Res<Config>,
    mut failure: ResMut<Failure>,
    mut decisions: ResMut<DecisionLog>,
    mut tables: Query<&mut Table<G>>,
    mut seats: Query<&mut Seat<G>>,
) {
    for mut table in &mut tables {
        let table = &mut *table;
        let Some(state) = table.state.as_ref() else { continue };
        match state.turn() {
            Turn::Terminal => {}
            Turn::Chance => {
                let outcomes = state.chance_outcomes();
                let weights: Vec<f64> = outcomes.iter().map(|(_, p)| *p).collect();
                table.pending = Some(outcomes[table.chance_rng.weighted_index(&weights)].0);
            }
            Turn::Player(player) => {
                let participant = table.players[player];
                if config.learner == Some(participant) {
                    continue;
                }
                let Ok(mut seat) = seats.get_mut(table.seats[participant]) else {
                    failure.0 = Some(format!(
                        "table {} lost the seat of participant {participant}",
                        table.index
                    ));
                    continue;
                };
                let seat = &mut *seat;
                let policy = seat.policy.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
                let started = Instant::now();
                let mut action = policy.act(state, player, &mut seat.rng);
                let elapsed = started.elapsed().as_nanos() as u64;
                let tally = &mut table.tallies[participant];
                let stats = policy.last_search();
                let note = policy.last_note();
                let fault = note.as_ref().and_then(|n| n.fault.as_ref());
                if let Some(fault) = fault {
                    tally.faults += 1;
                    match fault.outcome {
                        FaultOutcome::Abort => {
                            failure.0 = Some(fault.message.clone());
                            continue;
                        }
                        FaultOutcome::ForfeitRound => tally.forfeited = true,
                        FaultOutcome::Fallback => {}
                    }
                    // The rule set decides what a failed decision plays.
                    action = game.0.fallback_action(state);
                }
                if stats.is_some() || note.is_some() {
                    decisions.0.push(DecisionRow {
                        table: table.index,
                        round: table.round,
                        participant,
                        decision: tally.decisions,
                        action,
                        action_label: game.0.action_label(action),
                        stats,
                        note,
                        wall_ns: elapsed,
                    });
                }
                tally.decisions += 1;
                tally.decision_ns += elapsed;
                if !state.is_legal(action) {
                    tally.illegal += 1;
                    if config.abort_on_illegal {
                        failure.0 = Some(format!(
                            "participant {participant} (`{}`) chose illegal action {action} ({}) at table {} round {}",
                            config.labels[participant],
                            game.0.action_label(action),
                            table.index,
                            table.round
                        ));
                        continue;
                    }
                    action = game.0.fallback_action(state);
                }
                table.pending = Some(action);
            }
        }
    }
}

fn apply<G: Tournament>(mut tables: Query<&mut Table<G>>) {
    for mut table in &mut tables {
        let table = &mut *table;
        if let (Some(action), Some(state)) = (table.pending.take(), table.state.as_mut()) {
            state.apply_action(action);
        }
    }
}

fn settle<G: Tournament>(
    game: Res<GameRes<G>>,
    mut log: ResMut<RoundLog>,
    mut remaining: ResMut<Remaining>,
    progress: Res<Progress>,
    mut tables: Query<&mut Table<G>>,
    mut seats: Query<&mut Seat<G>>,
) {
    let mut finished = 0;
    for mut table in &mut tables {
        let table = &mut *table;
        if !table.state.as_ref().is_some_and(State::is_terminal) {
            continue;
        }
        let state = table.state.take().expect("checked above");
        let metrics = game.0.settle_round(&mut table.ledger, &state, &table.players);
        for (player, m) in metrics.into_iter().enumerate() {
            let participant = table.players[player];
            let tally = table.tallies[participant];
            if let Ok(mut seat) = seats.get_mut(table.seats[participant]) {
                let policy = seat.policy.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
                policy.round_over(&RoundReport {
                    table: table.index,
                    round: table.round,
                    player,
                    metrics: &m,
                });
            }
            log.0.push(RoundRow {
                table: table.index,
                round: table.round,
                participant,
                metrics: m,
                decisions: tally.decisions,
                decision_ns: tally.decision_ns,
                illegal_actions: tally.illegal,
                faults: tally.faults,
                forfeited: tally.forfeited,
            });
        }
        table.round += 1;
        finished += 1;
    }
    if finished > 0 {
        remaining.0 -= finished;
        (progress.0)(finished);
    }
}

/// Spawns one seat per participant of table `table`, each with its own derived random
/// stream, and tells each policy whom it plays for (external agents start here).
fn spawn_seats<G: Tournament>(
    world: &mut World,
    policies: Vec<Box<dyn Policy<G>>>,
    table: usize,
    table_seed: u64,
    labels: &[String],
) -> Result<Vec<Entity>> {
    policies
        .into_iter()
        .enumerate()
        .map(|(participant, mut policy)| {
            let seat_seed = derive_seed(table_seed, Stream::Seat, participant as u64);
            let label = labels.get(participant).map_or("", String::as_str);
            policy
                .start(&SeatInfo {
                    participant,
                    label,
                    table,
                    seed: derive_seed(seat_seed, Stream::Seat, u64::MAX),
                })
                .map_err(Error::Run)?;
            Ok(world
                .spawn(Seat::<G> {
                    policy: Mutex::new(policy),
                    rng: SimRng::new(seat_seed),
                })
                .id())
        })
        .collect()
}

/// Tells every seat's policy that its table is done (outside processes start exiting
/// together rather than one after another as the World is dropped).
fn stop_seats<G: Tournament>(world: &mut World) {
    let mut seats = world.query::<&mut Seat<G>>();
    for mut seat in seats.iter_mut(world) {
        seat.policy
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .stop();
    }
}

/// Runs one replicate of a tournament in its own World and returns its rows.
pub fn run_tournament<G: Tournament + Clone>(setup: TournamentSetup<G>) -> Result<ReplicateRows> {
    let participants = setup.labels.len();
    let tables = setup.tables.max(1);
    let mut world = World::new();
    let mut total = 0;
    for t in 0..tables {
        let table_seed = derive_seed(setup.replicate_seed, Stream::Table, t as u64);
        let rounds = setup.rounds / tables as u64 + u64::from((t as u64) < setup.rounds % tables as u64);
        total += rounds;
        let seats = spawn_seats::<G>(&mut world, (setup.make_policies)()?, t, table_seed, &setup.labels)?;
        world.spawn(Table::<G> {
            index: t,
            seed: table_seed,
            ledger: setup.game.new_ledger(participants),
            state: None,
            chance_rng: SimRng::new(table_seed),
            players: Vec::new(),
            seats,
            round: 0,
            rounds_total: rounds,
            pending: None,
            tallies: Vec::new(),
        });
    }
    world.insert_resource(GameRes(setup.game));
    world.insert_resource(Config {
        rotation: setup.rotation,
        participants,
        abort_on_illegal: setup.abort_on_illegal,
        labels: setup.labels,
        learner: None,
    });
    world.insert_resource(RoundLog::default());
    world.insert_resource(DecisionLog::default());
    world.insert_resource(Remaining(total));
    world.insert_resource(Failure::default());
    world.insert_resource(Progress(setup.on_progress));

    let mut schedule = phase_schedule();
    schedule.add_systems((deal::<G>, request::<G>, decide::<G>, apply::<G>, settle::<G>).chain());
    schedule
        .initialize(&mut world)
        .map_err(|e| Error::Run(format!("tournament schedule did not build: {e}")))?;

    let mut failure = None;
    while world.resource::<Remaining>().0 > 0 {
        if setup.cancel.load(Ordering::Relaxed) {
            failure = Some(Error::Cancelled);
            break;
        }
        schedule.run(&mut world);
        if let Some(message) = world.resource_mut::<Failure>().0.take() {
            setup.cancel.store(true, Ordering::Relaxed);
            failure = Some(Error::Run(message));
            break;
        }
    }
    stop_seats::<G>(&mut world);
    if let Some(error) = failure {
        return Err(error);
    }
    let mut rounds = std::mem::take(&mut world.resource_mut::<RoundLog>().0);
    rounds.sort_by_key(|r| (r.table, r.round, r.participant));
    let mut decisions = std::mem::take(&mut world.resource_mut::<DecisionLog>().0);
    decisions.sort_by_key(|d| (d.table, d.round, d.participant, d.decision));
    Ok(ReplicateRows { rounds, decisions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_deals_replay_each_deal_once_per_seating() {
        let r = Rotation::Duplicate;
        let deals: Vec<u64> = (0..6).map(|round| r.deal(3, round)).collect();
        assert_eq!(deals, [0, 0, 0, 1, 1, 1]);
        let seatings: Vec<Vec<usize>> = (0..3).map(|round| r.order(3, round)).collect();
        assert_eq!(seatings, [vec![0, 1, 2], vec![1, 2, 0], vec![2, 0, 1]]);
        assert_eq!(Rotation::Rotate.deal(3, 4), 4);
    }
    use crate::games::dhumbal::{Dhumbal, DhumbalRules};
    use crate::policies::random::RandomPolicy;

    fn setup(tables: usize, rounds: u64) -> TournamentSetup<Dhumbal> {
        TournamentSetup {
            game: Dhumbal::new(DhumbalRules::paper(), 3),
            replicate_seed: 11,
            rounds,
            tables,
            rotation: Rotation::Rotate,
            make_policies: Box::new(|| {
                Ok((0..3)
                    .map(|_| Box::new(RandomPolicy) as Box<dyn Policy<Dhumbal>>)
                    .collect())
            }),
            labels: vec!["a".into(), "b".into(), "c".into()],
            abort_on_illegal: false,
            on_progress: Arc::new(|_| {}),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    #[test]
    fn every_round_of_every_table_is_recorded_once() {
        let rows = run_tournament(setup(4, 10)).unwrap().rounds;
        assert_eq!(rows.len(), 10 * 3);
        let per_table: Vec<usize> = (0..4)
            .map(|t| rows.iter().filter(|r| r.table == t).count() / 3)
            .collect();
        assert_eq!(per_table, vec![3, 3, 2, 2]);
        // Rounds are numbered per table: table t plays rounds 0..per_table[t].
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            assert!(
                r.round < per_table[r.table] as u64,
                "table {} round {}",
                r.table,
                r.round
            );
            assert!(
                seen.insert((r.table, r.round, r.participant)),
                "table {} round {} participant {} recorded twice",
                r.table,
                r.round,
                r.participant
            );
        }
        assert_eq!(seen.len(), 10 * 3, "every participant of every round");
        for (table, rounds) in per_table.iter().enumerate() {
            for round in 0..*rounds as u64 {
                let decisions: u32 = rows
                    .iter()
                    .filter(|r| r.table == table && r.round == round)
                    .map(|r| r.decisions)
                    .sum();
                assert!(decisions > 0, "table {table} round {round} has decisions");
            }
        }
    }

    #[test]
    fn a_replicate_is_reproducible() {
        let strip = |rows: ReplicateRows| -> Vec<RoundRow> {
            rows.rounds
                .into_iter()
                .map(|r| RoundRow { decision_ns: 0, ..r })
                .collect()
        };
        assert_eq!(
            strip(run_tournament(setup(2, 12)).unwrap()),
            strip(run_tournament(setup(2, 12)).unwrap())
        );
    }

    #[test]
    fn rotation_visits_every_position() {
        let orders: Vec<Vec<usize>> = (0..3).map(|r| Rotation::Rotate.order(3, r)).collect();
        assert_eq!(orders, vec![vec![0, 1, 2], vec![1, 2, 0], vec![2, 0, 1]]);
        assert_eq!(Rotation::None.order(3, 5), vec![0, 1, 2]);
    }

    struct Cheater;
    impl Policy<Dhumbal> for Cheater {
        fn act(&mut self, _: &crate::games::dhumbal::DhumbalState, _: usize, _: &mut SimRng) -> Action {
            9_999
        }
    }

    #[test]
    fn illegal_actions_are_replaced_and_counted_or_abort() {
        let mut s = setup(1, 3);
        s.make_policies = Box::new(|| {
            Ok(vec![
                Box::new(Cheater) as Box<dyn Policy<Dhumbal>>,
                Box::new(RandomPolicy),
                Box::new(RandomPolicy),
            ])
        });
        let rows = run_tournament(s).unwrap().rounds;
        assert!(
            rows.iter()
                .filter(|r| r.participant == 0)
                .all(|r| r.illegal_actions == r.decisions)
        );
        let mut s = setup(1, 3);
        s.abort_on_illegal = true;
        s.make_policies = Box::new(|| {
            Ok(vec![
                Box::new(Cheater) as Box<dyn Policy<Dhumbal>>,
                Box::new(RandomPolicy),
                Box::new(RandomPolicy),
            ])
        });
        let cancel = Arc::clone(&s.cancel);
        let err = run_tournament(s).unwrap_err().to_string();
        assert!(err.contains("participant 0 (`a`) chose illegal action 9999"), "{err}");
        assert!(cancel.load(Ordering::Relaxed), "a failure stops the other replicates");
    }

    #[test]
    fn a_cancelled_replicate_stops_at_once() {
        let s = setup(2, 1_000_000);
        s.cancel.store(true, Ordering::Relaxed);
        assert!(matches!(run_tournament(s), Err(Error::Cancelled)));
    }
}
