//! The only bevy_ecs user, and the tournament World. Tables and seats are entities with
//! components split by concern: a table's identity, the rounds it owes, its ledger between
//! rounds, the round in progress, the round's tallies, its seat map and the rows it recorded; a
//! seat's identity, policy and private random stream, plus a marker on seats the World
//! answers itself (`RemoteSeat`: an outside process, asked at every table before any table
//! waits for it; `LearnerSeat`, in `training`: a learner answering every table at once).
//!
//! A round's phases are systems in declared order (`Phase`): play -> request -> answer ->
//! [learn -> close, training only] -> settle. `play` steps every table in parallel on the
//! current rayon pool (so `--threads` bounds it with everything else): a table deals, draws
//! chance and asks every seat it may ask itself until its round ends or it waits on a marked
//! seat. Every table owns its random streams, so rows are byte-identical at any thread
//! count. Systems return `Result`; `run_phases` hands the first failure to the caller. One
//! World per (scenario, replicate); rayon runs replicates side by side as well.

pub mod adload;
pub mod information;
pub mod training;

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use bevy_ecs::error::{BevyError, ErrorContext, FallbackErrorHandler};
use bevy_ecs::prelude::*;
use bevy_ecs::query::QueryItem;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings, SingleThreadedExecutor};
use rayon::prelude::*;

use crate::core::error::{Error, Result};
use crate::core::game::{Action, State, Turn};
use crate::core::policy::{DecisionNote, FaultOutcome, Policy, RoundReport, SearchStats, SeatInfo};
use crate::core::rng::{SimRng, Stream, derive_seed};
use crate::core::tournament::{MetricValue, Tournament};

/// What a system returns: bevy's result, whose error carries a `core::error::Error`.
type SystemResult = bevy_ecs::error::Result;

/// A schedule for a World's phases: run in order on the calling thread (parallel work happens
/// inside systems, on rayon), with ambiguity detection as an error (two systems touching the
/// same data unordered is a bug).
pub(crate) fn phase_schedule() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.set_executor(SingleThreadedExecutor::new());
    schedule.set_build_settings(ScheduleBuildSettings {
        ambiguity_detection: LogLevel::Error,
        ..Default::default()
    });
    schedule
}

/// An empty World whose systems' errors reach `run_phases`.
pub(crate) fn phase_world() -> World {
    let mut world = World::new();
    world.insert_resource(FallbackErrorHandler(keep_first_failure));
    world
}

thread_local! {
    /// The first failure of the schedule run in progress on this thread. bevy hands a
    /// system's error to a plain `fn` handler, so this is how it reaches `run_phases`.
    static FAILURE: Cell<Option<BevyError>> = const { Cell::new(None) };
}

fn keep_first_failure(error: BevyError, _: ErrorContext) {
    FAILURE.with(|slot| {
        let first = slot.take().unwrap_or(error);
        slot.set(Some(first));
    });
}

/// Runs `schedule` once on `world` (made by `phase_world`) and returns the first error a
/// system returned. (The systems after a failed one still run; callers stop at the error.)
pub(crate) fn run_phases(schedule: &mut Schedule, world: &mut World) -> Result<()> {
    // A run nested in this one's rayon wait (another replicate, stolen by this thread) must
    // neither see nor take this run's failure.
    let outer = FAILURE.take();
    schedule.run(world);
    match FAILURE.replace(outer) {
        None => Ok(()),
        Some(error) => Err(match error.downcast_ref::<Error>() {
            Some(Error::Cancelled) => Error::Cancelled,
            Some(e) => Error::Run(e.to_string()),
            None => Error::Run(error.to_string().trim_end().to_string()),
        }),
    }
}

/// Makes a `Send` value `Sync` by lending it out only through `&mut` (`get`), so no two
/// threads can reach it at once: policies and learners live in components and resources
/// this way, without a lock.
pub(crate) use bevy_platform::cell::SyncCell as Exclusive;

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
    /// Whether the participant won the round.
    pub won: bool,
    /// The participant's payoff for the round.
    pub payoff: f64,
    /// Decisions the participant took this round.
    pub decisions: u32,
    /// Wall time spent in those decisions (not reproducible; kept out of rounds.csv). For a
    /// seat deciding in under 10 µs it is sampled: one decision in 16, drawn at random, is
    /// timed and counted 16 times (see `SeatClock`), so sums over many rounds stay accurate
    /// while single rows are rough.
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
    /// Wall time of the decision (not reproducible). Logging seats have every decision
    /// timed after their first logged one (0 only if a fast seat logs out of the blue).
    pub wall_ns: u64,
}

/// What one replicate produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplicateRows {
    /// One row per round x participant, sorted by (table, round, participant).
    pub rounds: Vec<RoundRow>,
    /// The game's values of every row (`record_columns`, in order), row after row.
    pub values: Vec<MetricValue>,
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
    /// Tables side by side in the World, stepped in parallel on the current rayon pool.
    pub tables: usize,
    /// Seating rule.
    pub rotation: Rotation,
    /// Policy constructors, one per participant, called once per table.
    pub make_policies: PolicyFactory<G>,
    /// Participant labels (for error messages).
    pub labels: Vec<String>,
    /// Participants whose policies run outside mechsim (external agents): each is sent
    /// every table's request before it is asked for any answer, so its processes think
    /// side by side. Missing entries are `false`.
    pub remote: Vec<bool>,
    /// Abort on an illegal action instead of replacing it.
    pub abort_on_illegal: bool,
    /// Called with the number of rounds just finished (progress reporting).
    pub on_progress: Arc<dyn Fn(u64) + Send + Sync>,
    /// Shared by the replicates of one run: set when one fails, so the others stop early.
    pub cancel: Arc<AtomicBool>,
    /// Whether the user's interrupt (`interrupt::requested`) stops the tables before their
    /// next round (a training run's evaluations finish instead).
    pub interruptible: bool,
}

/// The phases of a round, in the order they run.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Phase {
    /// Tables step on their own (in parallel).
    Play,
    /// Remote seats hear every waiting table's request.
    Request,
    /// Remote seats answer.
    Answer,
    /// A learner answers every table waiting on it in one batch (training).
    Learn,
    /// Finished rounds close the learner's trajectories (training).
    Close,
    /// Finished rounds are settled and recorded.
    Settle,
    /// Recorded rows leave the tables (training).
    Record,
}

/// How far `play` takes a table in one schedule run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pace {
    /// Until it waits on a marked seat or owes no more rounds; a table whose seats are all
    /// free settles its own rounds as it goes (so a tournament of plain, search and learned
    /// policies plays out in one schedule run), any other stops at the end of each round
    /// for `settle`, which reaches every seat.
    Rounds,
    /// One step (a deal and one action), whoever takes it: the training World's pace, on
    /// which its learner's batches and rollouts were defined.
    Step,
}

impl Pace {
    /// The fewest tables one rayon task takes: a step is far too little work to hand to
    /// another thread (waking it costs more), so a World stepping its tables does so in turn.
    fn tables_per_task(self) -> usize {
        match self {
            Pace::Rounds => 1,
            Pace::Step => usize::MAX,
        }
    }
}

#[derive(Resource)]
pub(crate) struct GameRes<G: Tournament>(pub(crate) G);

/// How the tables of this World play.
#[derive(Resource)]
pub(crate) struct Rules {
    pub(crate) rotation: Rotation,
    pub(crate) participants: usize,
    pub(crate) tables: usize,
    pub(crate) abort_on_illegal: bool,
    pub(crate) labels: Vec<String>,
    pub(crate) pace: Pace,
    pub(crate) interruptible: bool,
}

/// Rounds still to settle, over all tables.
#[derive(Resource)]
pub(crate) struct Remaining(pub(crate) u64);

/// Told of every settled round, from whichever thread settled it.
#[derive(Resource)]
pub(crate) struct Progress(pub(crate) Arc<dyn Fn(u64) + Send + Sync>);

/// Set when the run this World belongs to fails elsewhere: tables stop before their next
/// round.
#[derive(Resource)]
pub(crate) struct Cancel(pub(crate) Arc<AtomicBool>);

/// A table's identity.
#[derive(Component)]
pub(crate) struct Table {
    pub(crate) index: usize,
    seed: u64,
}

/// The rounds a table owes.
#[derive(Component)]
pub(crate) struct Rounds {
    next: u64,
    total: u64,
}

/// What a table keeps between rounds.
#[derive(Component)]
pub(crate) struct Ledger<G: Tournament>(G::Ledger);

/// The round in progress at a table.
#[derive(Component)]
pub(crate) struct Round<G: Tournament> {
    pub(crate) state: Option<G::State>,
    /// Participant of each player of the current state.
    pub(crate) players: Vec<usize>,
    chance: SimRng,
    /// Whether the table already stepped in this schedule run (`Pace::Step` only).
    pub(crate) moved: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    pub(crate) decisions: u32,
    decision_ns: u64,
    illegal: u32,
    faults: u32,
    forfeited: bool,
}

/// Each participant's tally of the round in progress.
#[derive(Component)]
pub(crate) struct Tallies(pub(crate) Vec<Tally>);

/// The seat entity of each participant.
#[derive(Component)]
pub(crate) struct SeatMap(pub(crate) Vec<Entity>);

/// The rows a table recorded, in (round, participant[, decision]) order.
#[derive(Component, Default)]
pub(crate) struct TableRows {
    rounds: Vec<RoundRow>,
    /// The rows' game values, `Tournament::record_columns` of them per row.
    values: Vec<MetricValue>,
    decisions: Vec<DecisionRow>,
    /// Where the round in progress's decisions start.
    round_start: usize,
}

/// A seat's identity.
#[derive(Component)]
pub(crate) struct Seat {
    table: usize,
    participant: usize,
}

#[derive(Component)]
pub(crate) struct SeatPolicy<G: Tournament>(Exclusive<Box<dyn Policy<G>>>);

#[derive(Component)]
pub(crate) struct SeatRng(SimRng);

/// When a seat's decisions are timed. Reading the clock twice costs about as much as a fast
/// policy's whole decision, so while a seat decides fast (under `SLOW_NS`) only one decision
/// in `SAMPLE`, drawn at random, is timed and counted `SAMPLE` times; a seat whose last timed
/// decision was slow, or that logs its decisions (search, external agents), has every
/// decision timed. Only the wall-clock fields depend on it.
#[derive(Component)]
pub(crate) struct SeatClock {
    every: bool,
    draw: u64,
}

impl SeatClock {
    const SAMPLE: u64 = 16;
    const SLOW_NS: u64 = 10_000;

    fn new(seed: u64) -> Self {
        SeatClock {
            every: true,
            draw: seed | 1,
        }
    }

    /// The weight of the next decision's time if it is to be timed.
    fn due(&mut self) -> Option<u64> {
        if self.every {
            return Some(1);
        }
        // xorshift64: timing needs no better randomness, and none of the seat's streams.
        self.draw ^= self.draw << 13;
        self.draw ^= self.draw >> 7;
        self.draw ^= self.draw << 17;
        self.draw.is_multiple_of(Self::SAMPLE).then_some(Self::SAMPLE)
    }

    fn timed(&mut self, elapsed_ns: u64, logged: bool) {
        self.every = logged || elapsed_ns >= Self::SLOW_NS;
    }
}

/// A seat answered by a learner, in batches (training Worlds).
#[derive(Component)]
pub(crate) struct LearnerSeat;

/// A seat whose policy runs outside mechsim: asked by `request` and `answer`.
#[derive(Component)]
pub(crate) struct RemoteSeat;

type TableData<G> = (
    &'static Table,
    &'static mut Rounds,
    &'static mut Ledger<G>,
    &'static mut Round<G>,
    &'static mut Tallies,
    &'static mut TableRows,
);

type SeatData<G> = (
    &'static Seat,
    &'static mut SeatPolicy<G>,
    &'static mut SeatRng,
    &'static mut SeatClock,
);

/// Seats a table may ask itself: not a learner's, not a remote one.
type FreeSeat = (Without<LearnerSeat>, Without<RemoteSeat>);

/// One table's components, borrowed for one phase.
struct TableMut<'a, G: Tournament> {
    table: &'a Table,
    rounds: &'a mut Rounds,
    ledger: &'a mut Ledger<G>,
    round: &'a mut Round<G>,
    tallies: &'a mut Tallies,
    rows: &'a mut TableRows,
}

/// One seat's policy, stream and clock, borrowed for one phase.
struct SeatMut<'a, G: Tournament> {
    policy: &'a mut dyn Policy<G>,
    rng: &'a mut SimRng,
    clock: &'a mut SeatClock,
}

/// The tables in index order.
fn table_slots<'w, 's, G: Tournament>(
    rules: &Rules,
    items: impl Iterator<Item = QueryItem<'w, 's, TableData<G>>>,
) -> Vec<Option<TableMut<'w, G>>> {
    let mut slots: Vec<Option<TableMut<'w, G>>> = (0..rules.tables).map(|_| None).collect();
    for (table, rounds, ledger, round, tallies, rows) in items {
        slots[table.index] = Some(TableMut {
            table,
            rounds: rounds.into_inner(),
            ledger: ledger.into_inner(),
            round: round.into_inner(),
            tallies: tallies.into_inner(),
            rows: rows.into_inner(),
        });
    }
    slots
}

/// The seats of `items`, at `table * participants + participant`.
fn seat_slots<'w, 's, G: Tournament>(
    rules: &Rules,
    items: impl Iterator<Item = QueryItem<'w, 's, SeatData<G>>>,
) -> Vec<Option<SeatMut<'w, G>>> {
    let mut slots: Vec<Option<SeatMut<'w, G>>> = (0..rules.tables * rules.participants).map(|_| None).collect();
    for (seat, policy, rng, clock) in items {
        slots[seat.table * rules.participants + seat.participant] = Some(SeatMut {
            policy: &mut **policy.into_inner().0.get(),
            rng: &mut rng.into_inner().0,
            clock: clock.into_inner(),
        });
    }
    slots
}

/// What every table's phase reads: the game, the rules, and the run's progress and
/// cancellation.
struct Ctx<'a, G: Tournament> {
    game: &'a G,
    rules: &'a Rules,
    progress: &'a (dyn Fn(u64) + Send + Sync),
    cancel: &'a AtomicBool,
}

/// Runs `phase` on every table with its seats among `seats`, in parallel; the rounds they
/// settled, or the error of the lowest-indexed failing table.
fn for_each_table<G: Tournament>(
    rules: &Rules,
    tables: &mut [Option<TableMut<'_, G>>],
    seats: &mut [Option<SeatMut<'_, G>>],
    phase: impl Fn(&mut TableMut<'_, G>, &mut [Option<SeatMut<'_, G>>]) -> Result<u64> + Sync,
) -> Result<u64> {
    let outcomes: Vec<Result<u64>> = tables
        .par_iter_mut()
        .zip(seats.par_chunks_mut(rules.participants.max(1)))
        .with_min_len(rules.pace.tables_per_task())
        .map(|(table, seats)| table.as_mut().map_or(Ok(0), |t| phase(t, seats)))
        .collect();
    outcomes.into_iter().sum()
}

/// Who is asked for a decision, where.
#[derive(Clone, Copy)]
struct Asked {
    table: usize,
    round: u64,
    player: usize,
    participant: usize,
}

/// Asks `seat` for `asked.player`'s action at `state` (after `prepare` if `prepare`) and
/// keeps the decision's books: its tally, its row (search statistics, external answers),
/// faults, and illegal actions replaced by the rule set's fallback or fatal.
fn decide<G: Tournament>(
    ctx: &Ctx<'_, G>,
    asked: Asked,
    state: &G::State,
    seat: &mut SeatMut<'_, G>,
    prepare: bool,
    tally: &mut Tally,
    rows: &mut TableRows,
) -> Result<Action> {
    let game = ctx.game;
    if prepare {
        seat.policy.prepare(state, asked.player);
    }
    let weight = seat.clock.due();
    let started = weight.map(|_| Instant::now());
    let mut action = seat.policy.act(state, asked.player, seat.rng);
    let elapsed = started.map_or(0, |t| t.elapsed().as_nanos() as u64);
    let stats = seat.policy.last_search();
    let note = seat.policy.last_note();
    let logged = stats.is_some() || note.is_some();
    if weight.is_some() {
        seat.clock.timed(elapsed, logged);
    }
    if let Some(fault) = note.as_ref().and_then(|n| n.fault.as_ref()) {
        tally.faults += 1;
        match fault.outcome {
            FaultOutcome::Abort => return Err(Error::Run(fault.message.clone())),
            FaultOutcome::ForfeitRound => tally.forfeited = true,
            FaultOutcome::Fallback => {}
        }
        // The rule set decides what a failed decision plays.
        action = game.fallback_action(state);
    }
    if logged {
        rows.decisions.push(DecisionRow {
            table: asked.table,
            round: asked.round,
            participant: asked.participant,
            decision: tally.decisions,
            action,
            action_label: game.action_label(action),
            stats,
            note,
            wall_ns: elapsed,
        });
    }
    tally.decisions += 1;
    tally.decision_ns += elapsed * weight.unwrap_or(0);
    if !state.is_legal(action) {
        tally.illegal += 1;
        if ctx.rules.abort_on_illegal {
            return Err(Error::Run(format!(
                "participant {} (`{}`) chose illegal action {action} ({}) at table {} round {}",
                asked.participant,
                ctx.rules.labels[asked.participant],
                game.action_label(action),
                asked.table,
                asked.round
            )));
        }
        action = game.fallback_action(state);
    }
    Ok(action)
}

/// Deals the table's next round if it has none and owes one; whether a round is in play.
fn deal<G: Tournament>(ctx: &Ctx<'_, G>, t: &mut TableMut<'_, G>) -> Result<bool> {
    if t.round.state.is_some() {
        return Ok(true);
    }
    if t.rounds.next >= t.rounds.total {
        return Ok(false);
    }
    if ctx.cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    if ctx.rules.interruptible && crate::interrupt::requested() {
        return Err(Error::Interrupted(
            "the run stopped before its end and wrote nothing (its output directory is as it was)".into(),
        ));
    }
    let (rules, round) = (ctx.rules, t.rounds.next);
    let order = rules.rotation.order(rules.participants, round);
    let deal = rules.rotation.deal(rules.participants, round);
    let mut rng = SimRng::new(derive_seed(t.table.seed, Stream::Round, deal));
    let (state, players) = ctx.game.start_round(&t.ledger.0, &order, round, &mut rng);
    t.round.chance = rng;
    t.round.players = players;
    t.round.state = Some(state);
    t.tallies.0.clear();
    t.tallies.0.resize(rules.participants, Tally::default());
    t.rows.round_start = t.rows.decisions.len();
    Ok(true)
}

/// Takes a table as far as its pace allows (see `Pace`): deals, draws chance outcomes and
/// asks its free seats (`seats[participant]`, `None` for seats the World answers). Returns
/// the rounds it settled.
fn play_table<G: Tournament>(
    ctx: &Ctx<'_, G>,
    t: &mut TableMut<'_, G>,
    seats: &mut [Option<SeatMut<'_, G>>],
) -> Result<u64> {
    t.round.moved = false;
    let step = ctx.rules.pace == Pace::Step;
    let settles = !step && seats.iter().all(Option::is_some);
    let mut settled = 0;
    while deal(ctx, t)? {
        let Round {
            state,
            players,
            chance,
            moved,
        } = &mut *t.round;
        let state = state.as_mut().expect("dealt");
        let action = match state.turn() {
            Turn::Terminal if settles => {
                settled += settle_table(ctx, t, seats)?;
                continue;
            }
            Turn::Terminal => break,
            Turn::Chance => {
                let outcomes = state.chance_outcomes();
                let weights: Vec<f64> = outcomes.iter().map(|(_, p)| *p).collect();
                outcomes[chance.weighted_index(&weights)].0
            }
            Turn::Player(player) => {
                let participant = players[player];
                let Some(seat) = seats.get_mut(participant).and_then(Option::as_mut) else {
                    break;
                };
                let asked = Asked {
                    table: t.table.index,
                    round: t.rounds.next,
                    player,
                    participant,
                };
                let tally = &mut t.tallies.0[participant];
                decide(ctx, asked, state, seat, true, tally, t.rows)?
            }
        };
        state.apply_action(action);
        if step {
            *moved = true;
            break;
        }
    }
    Ok(settled)
}

/// What every phase that steps tables reads (the game, the rules, progress and
/// cancellation) and the rounds it leaves to settle.
#[derive(bevy_ecs::system::SystemParam)]
struct Tables<'w, G: Tournament> {
    game: Res<'w, GameRes<G>>,
    rules: Res<'w, Rules>,
    progress: Res<'w, Progress>,
    cancel: Res<'w, Cancel>,
    remaining: ResMut<'w, Remaining>,
}

impl<G: Tournament> Tables<'_, G> {
    fn ctx(&self) -> Ctx<'_, G> {
        Ctx {
            game: &self.game.0,
            rules: &self.rules,
            progress: &*self.progress.0,
            cancel: &self.cancel.0,
        }
    }

    /// Runs `phase` on every table with its seats (tables in parallel) and counts down the
    /// rounds it settled.
    fn step<'w, 's>(
        &mut self,
        tables: impl Iterator<Item = QueryItem<'w, 's, TableData<G>>>,
        seats: impl Iterator<Item = QueryItem<'w, 's, SeatData<G>>>,
        phase: impl Fn(&Ctx<'_, G>, &mut TableMut<'_, G>, &mut [Option<SeatMut<'_, G>>]) -> Result<u64> + Sync,
    ) -> SystemResult {
        let mut tables = table_slots(&self.rules, tables);
        let mut seats = seat_slots(&self.rules, seats);
        let ctx = self.ctx();
        let settled = for_each_table(ctx.rules, &mut tables, &mut seats, |t, seats| phase(&ctx, t, seats))?;
        self.remaining.0 = self.remaining.0.saturating_sub(settled);
        Ok(())
    }
}

fn play<G: Tournament>(
    mut world: Tables<G>,
    mut tables: Query<TableData<G>>,
    mut seats: Query<SeatData<G>, FreeSeat>,
) -> SystemResult {
    world.step(tables.iter_mut(), seats.iter_mut(), play_table)
}

/// The seat entity due to act at a table that has not moved in this run, with its player.
fn waiting_on<G: Tournament>(round: &Round<G>, map: &SeatMap) -> Option<(Entity, usize)> {
    if round.moved {
        return None;
    }
    let Turn::Player(player) = round.state.as_ref()?.turn() else {
        return None;
    };
    Some((map.0[round.players[player]], player))
}

/// Lets every remote seat see every decision it is due before any is asked for an answer,
/// so separate processes think side by side.
fn request<G: Tournament>(
    tables: Query<(&Round<G>, &SeatMap)>,
    mut remote: Query<&mut SeatPolicy<G>, With<RemoteSeat>>,
) {
    for (round, map) in &tables {
        if let Some((entity, player)) = waiting_on(round, map)
            && let Ok(mut policy) = remote.get_mut(entity)
            && let Some(state) = &round.state
        {
            policy.0.get().prepare(state, player);
        }
    }
}

/// Remote seats answer, table by table.
fn answer<G: Tournament>(
    world: Tables<G>,
    mut tables: Query<(TableData<G>, &SeatMap)>,
    mut remote: Query<(&mut SeatPolicy<G>, &mut SeatRng, &mut SeatClock), With<RemoteSeat>>,
    learners: Query<(), With<LearnerSeat>>,
) -> SystemResult {
    let ctx = world.ctx();
    for ((table, rounds, _, mut round, mut tallies, mut rows), map) in &mut tables {
        let Some((entity, player)) = waiting_on(&round, map) else {
            continue;
        };
        let participant = round.players[player];
        let Ok((mut policy, mut rng, mut clock)) = remote.get_mut(entity) else {
            if learners.contains(entity) {
                continue;
            }
            return Err(Error::Run(format!(
                "table {} lost the seat of participant {participant}",
                table.index
            ))
            .into());
        };
        let round = &mut *round;
        let state = round.state.as_mut().expect("waiting on a seat");
        let asked = Asked {
            table: table.index,
            round: rounds.next,
            player,
            participant,
        };
        let mut seat = SeatMut {
            policy: &mut **policy.0.get(),
            rng: &mut rng.0,
            clock: &mut clock,
        };
        let tally = &mut tallies.0[participant];
        let action = decide(&ctx, asked, state, &mut seat, false, tally, &mut rows)?;
        state.apply_action(action);
        round.moved = ctx.rules.pace == Pace::Step;
    }
    Ok(())
}

/// Settles a finished round: the ledger, the participants' rows, each policy told its
/// outcome (`seats` holds them all), progress reported. Returns the rounds settled (0 or 1).
fn settle_table<G: Tournament>(
    ctx: &Ctx<'_, G>,
    t: &mut TableMut<'_, G>,
    seats: &mut [Option<SeatMut<'_, G>>],
) -> Result<u64> {
    if !t.round.state.as_ref().is_some_and(State::is_terminal) {
        return Ok(0);
    }
    let state = t.round.state.take().expect("checked above");
    let metrics = ctx.game.settle_round(&mut t.ledger.0, &state, &t.round.players);
    let columns = ctx.game.record_columns();
    for (player, m) in metrics.iter().enumerate() {
        if m.values.len() != columns.len() {
            return Err(Error::Run(format!(
                "the game settled round {} of table {} with {} values for player {player}, but names {} columns ({})",
                t.rounds.next,
                t.table.index,
                m.values.len(),
                columns.len(),
                columns.join(", ")
            )));
        }
        let participant = t.round.players[player];
        if let Some(seat) = seats.get_mut(participant).and_then(Option::as_mut) {
            seat.policy.round_over(&RoundReport {
                table: t.table.index,
                round: t.rounds.next,
                player,
                metrics: m,
            });
        }
    }
    // Players sit in seating order; rows go by participant.
    let mut by_participant: Vec<usize> = (0..metrics.len()).collect();
    by_participant.sort_unstable_by_key(|player| t.round.players[*player]);
    for player in by_participant {
        let (m, participant) = (&metrics[player], t.round.players[player]);
        let tally = t.tallies.0[participant];
        t.rows.rounds.push(RoundRow {
            table: t.table.index,
            round: t.rounds.next,
            participant,
            won: m.won,
            payoff: m.payoff,
            decisions: tally.decisions,
            decision_ns: tally.decision_ns,
            illegal_actions: tally.illegal,
            faults: tally.faults,
            forfeited: tally.forfeited,
        });
        t.rows.values.extend(m.values.iter().map(|(_, v)| *v));
    }
    t.rows.decisions[t.rows.round_start..].sort_unstable_by_key(|d| (d.participant, d.decision));
    t.rounds.next += 1;
    (ctx.progress)(1);
    Ok(1)
}

/// Settles the rounds that ended at tables `play` does not settle (marked seats, training).
fn settle<G: Tournament>(
    mut world: Tables<G>,
    mut tables: Query<TableData<G>>,
    mut seats: Query<SeatData<G>>,
) -> SystemResult {
    world.step(tables.iter_mut(), seats.iter_mut(), settle_table)
}

/// The schedule of a tournament World: the phases in order, with the systems every World
/// of tables has; `training` adds its learner's.
pub(crate) fn tournament_schedule<G: Tournament>() -> Schedule {
    let mut schedule = phase_schedule();
    schedule.configure_sets(
        (
            Phase::Play,
            Phase::Request,
            Phase::Answer,
            Phase::Learn,
            Phase::Close,
            Phase::Settle,
            Phase::Record,
        )
            .chain(),
    );
    schedule.add_systems((
        play::<G>.in_set(Phase::Play),
        request::<G>.in_set(Phase::Request),
        answer::<G>.in_set(Phase::Answer),
        settle::<G>.in_set(Phase::Settle),
    ));
    schedule
}

/// One table to spawn.
pub(crate) struct TableSpec<'a, G: Tournament> {
    pub(crate) game: &'a G,
    pub(crate) index: usize,
    pub(crate) seed: u64,
    pub(crate) rounds: u64,
    pub(crate) policies: Vec<Box<dyn Policy<G>>>,
    pub(crate) labels: &'a [String],
    pub(crate) remote: &'a [bool],
    pub(crate) learner: Option<usize>,
}

/// Spawns a table and one seat per participant, each seat with its own derived random
/// stream, and tells each policy whom it plays for (external agents start here).
pub(crate) fn spawn_table<G: Tournament>(world: &mut World, spec: TableSpec<'_, G>) -> Result<Entity> {
    let participants = spec.labels.len();
    let mut seats = Vec::with_capacity(participants);
    for (participant, mut policy) in spec.policies.into_iter().enumerate() {
        let seat_seed = derive_seed(spec.seed, Stream::Seat, participant as u64);
        let label = spec.labels.get(participant).map_or("", String::as_str);
        policy
            .start(&SeatInfo {
                participant,
                label,
                table: spec.index,
                seed: derive_seed(seat_seed, Stream::Seat, u64::MAX),
            })
            .map_err(Error::Run)?;
        let mut seat = world.spawn((
            Seat {
                table: spec.index,
                participant,
            },
            SeatPolicy(Exclusive::new(policy)),
            SeatRng(SimRng::new(seat_seed)),
            SeatClock::new(seat_seed),
        ));
        if spec.learner == Some(participant) {
            seat.insert(LearnerSeat);
        }
        if spec.remote.get(participant).copied().unwrap_or(false) {
            seat.insert(RemoteSeat);
        }
        seats.push(seat.id());
    }
    Ok(world
        .spawn((
            Table {
                index: spec.index,
                seed: spec.seed,
            },
            Rounds {
                next: 0,
                total: spec.rounds,
            },
            Ledger::<G>(spec.game.new_ledger(participants)),
            Round::<G> {
                state: None,
                players: Vec::new(),
                chance: SimRng::new(spec.seed),
                moved: false,
            },
            Tallies(Vec::new()),
            SeatMap(seats),
            {
                // A tournament table's rows, reserved at once (a run's largest allocation).
                let rows = if spec.rounds < 1 << 20 {
                    spec.rounds as usize * participants
                } else {
                    0
                };
                TableRows {
                    rounds: Vec::with_capacity(rows),
                    values: Vec::with_capacity(rows * spec.game.record_columns().len()),
                    ..TableRows::default()
                }
            },
        ))
        .id())
}

/// Tells every seat's policy that its table is done (outside processes start exiting
/// together rather than one after another as the World is dropped).
fn stop_seats<G: Tournament>(world: &mut World) {
    let mut seats = world.query::<&mut SeatPolicy<G>>();
    for mut seat in seats.iter_mut(world) {
        seat.0.get().stop();
    }
}

/// Runs one replicate of a tournament in its own World and returns its rows. Its tables
/// step in parallel on the current rayon pool.
pub fn run_tournament<G: Tournament + Clone>(setup: TournamentSetup<G>) -> Result<ReplicateRows> {
    let participants = setup.labels.len();
    let tables = setup.tables.max(1);
    let mut world = phase_world();
    let mut total = 0;
    for t in 0..tables {
        let seed = derive_seed(setup.replicate_seed, Stream::Table, t as u64);
        let rounds = setup.rounds / tables as u64 + u64::from((t as u64) < setup.rounds % tables as u64);
        total += rounds;
        let spec = TableSpec {
            game: &setup.game,
            index: t,
            seed,
            rounds,
            policies: (setup.make_policies)()?,
            labels: &setup.labels,
            remote: &setup.remote,
            learner: None,
        };
        spawn_table(&mut world, spec)?;
    }
    world.insert_resource(GameRes(setup.game));
    world.insert_resource(Rules {
        rotation: setup.rotation,
        participants,
        tables,
        abort_on_illegal: setup.abort_on_illegal,
        labels: setup.labels,
        pace: Pace::Rounds,
        interruptible: setup.interruptible,
    });
    world.insert_resource(Remaining(total));
    world.insert_resource(Progress(setup.on_progress));
    world.insert_resource(Cancel(Arc::clone(&setup.cancel)));

    let mut schedule = tournament_schedule::<G>();
    schedule
        .initialize(&mut world)
        .map_err(|e| Error::Run(format!("tournament schedule did not build: {e}")))?;

    let mut failure = None;
    while world.resource::<Remaining>().0 > 0 {
        if setup.cancel.load(Ordering::Relaxed) {
            failure = Some(Error::Cancelled);
            break;
        }
        if let Err(error) = run_phases(&mut schedule, &mut world) {
            setup.cancel.store(true, Ordering::Relaxed);
            failure = Some(error);
            break;
        }
    }
    stop_seats::<G>(&mut world);
    if let Some(error) = failure {
        return Err(error);
    }
    // Each table's rows are in order: the replicate's are the tables' in index order.
    let mut tables: Vec<(usize, TableRows)> = world
        .query::<(&Table, &mut TableRows)>()
        .iter_mut(&mut world)
        .map(|(table, mut rows)| (table.index, std::mem::take(&mut *rows)))
        .collect();
    tables.sort_unstable_by_key(|(index, _)| *index);
    if let [(_, only)] = &mut tables[..] {
        return Ok(ReplicateRows {
            rounds: std::mem::take(&mut only.rounds),
            values: std::mem::take(&mut only.values),
            decisions: std::mem::take(&mut only.decisions),
        });
    }
    let mut rows = ReplicateRows {
        rounds: Vec::with_capacity(total as usize * participants),
        values: Vec::new(),
        decisions: Vec::new(),
    };
    for (_, mut table) in tables {
        rows.rounds.append(&mut table.rounds);
        rows.values.append(&mut table.values);
        rows.decisions.append(&mut table.decisions);
    }
    Ok(rows)
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
    use crate::policies::dhumbal_heuristic::{HeuristicPolicy, Style};
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
            remote: Vec::new(),
            abort_on_illegal: false,
            on_progress: Arc::new(|_| {}),
            cancel: Arc::new(AtomicBool::new(false)),
            interruptible: false,
        }
    }

    fn strip(rows: ReplicateRows) -> Vec<RoundRow> {
        rows.rounds
            .into_iter()
            .map(|r| RoundRow { decision_ns: 0, ..r })
            .collect()
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
        assert_eq!(
            strip(run_tournament(setup(2, 12)).unwrap()),
            strip(run_tournament(setup(2, 12)).unwrap())
        );
    }

    #[test]
    fn many_tables_give_the_same_rows_at_any_thread_count() {
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut s = setup(24, 24 * 5);
            s.game = Dhumbal::new(DhumbalRules::paper(), 4);
            s.labels = (0..4).map(|i| format!("p{i}")).collect();
            s.make_policies = Box::new(|| {
                Ok([
                    Style::Aggressive,
                    Style::Conservative,
                    Style::Balanced,
                    Style::Opportunistic,
                ]
                .into_iter()
                .map(|style| Box::new(HeuristicPolicy::new(style)) as Box<dyn Policy<Dhumbal>>)
                .collect())
            });
            pool.install(|| strip(run_tournament(s).unwrap()))
        };
        let one = on(1);
        assert_eq!(one.len(), 24 * 5 * 4);
        assert_eq!(one, on(2));
        assert_eq!(one, on(3));
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

    /// Plays at random and logs, per table, when it is asked to prepare and to act.
    struct Logging {
        table: usize,
        log: Arc<std::sync::Mutex<Vec<(usize, char)>>>,
    }

    impl Policy<Dhumbal> for Logging {
        fn start(&mut self, seat: &SeatInfo<'_>) -> std::result::Result<(), String> {
            self.table = seat.table;
            Ok(())
        }
        fn prepare(&mut self, _: &crate::games::dhumbal::DhumbalState, _: usize) {
            self.log.lock().unwrap().push((self.table, 'p'));
        }
        fn act(&mut self, state: &crate::games::dhumbal::DhumbalState, player: usize, rng: &mut SimRng) -> Action {
            self.log.lock().unwrap().push((self.table, 'a'));
            Policy::<Dhumbal>::act(&mut RandomPolicy, state, player, rng)
        }
    }

    #[test]
    fn remote_seats_hear_every_table_before_answering_and_play_the_same_games() {
        let run = |remote: bool| {
            let log = Arc::new(std::sync::Mutex::new(Vec::new()));
            let mut s = setup(3, 6);
            let shared = Arc::clone(&log);
            s.make_policies = Box::new(move || {
                let mut seats: Vec<Box<dyn Policy<Dhumbal>>> = vec![Box::new(Logging {
                    table: 0,
                    log: Arc::clone(&shared),
                })];
                seats.extend((0..2).map(|_| Box::new(RandomPolicy) as Box<dyn Policy<Dhumbal>>));
                Ok(seats)
            });
            s.remote = vec![remote, false, false];
            let rows = strip(run_tournament(s).unwrap());
            let log = log.lock().unwrap().clone();
            (rows, log)
        };
        let (free_rows, free_log) = run(false);
        let (remote_rows, remote_log) = run(true);
        assert_eq!(free_rows, remote_rows, "the same games either way");
        // A free seat is asked to prepare right before it acts (tables play side by side, so
        // their entries interleave).
        for table in 0..3 {
            let calls: Vec<char> = free_log.iter().filter(|(t, _)| *t == table).map(|(_, c)| *c).collect();
            assert!(
                !calls.is_empty() && calls.chunks(2).all(|pair| pair == ['p', 'a']),
                "{calls:?}"
            );
        }
        // A remote seat hears the request of every table waiting on it before any answer.
        let first_answer = remote_log.iter().position(|(_, what)| *what == 'a').unwrap();
        let mut asked: Vec<usize> = remote_log[..first_answer].iter().map(|(table, _)| *table).collect();
        asked.sort_unstable();
        assert_eq!(asked, [0, 1, 2], "{remote_log:?}");
    }

    /// Plays at random and sets `cancel` at its tenth decision (another replicate failing).
    struct Canceller(Arc<AtomicBool>, u32);

    impl Policy<Dhumbal> for Canceller {
        fn act(&mut self, state: &crate::games::dhumbal::DhumbalState, player: usize, rng: &mut SimRng) -> Action {
            self.1 += 1;
            if self.1 == 10 {
                self.0.store(true, Ordering::Relaxed);
            }
            Policy::<Dhumbal>::act(&mut RandomPolicy, state, player, rng)
        }
    }

    #[test]
    fn a_replicate_cancelled_while_it_plays_stops_before_its_next_round() {
        let mut s = setup(2, 1_000_000);
        let cancel = Arc::clone(&s.cancel);
        let rounds = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = Arc::clone(&rounds);
        s.on_progress = Arc::new(move |n| {
            counted.fetch_add(n, Ordering::Relaxed);
        });
        s.make_policies = Box::new(move || {
            let mut seats: Vec<Box<dyn Policy<Dhumbal>>> = vec![Box::new(Canceller(Arc::clone(&cancel), 0))];
            seats.extend((0..2).map(|_| Box::new(RandomPolicy) as Box<dyn Policy<Dhumbal>>));
            Ok(seats)
        });
        assert!(matches!(run_tournament(s), Err(Error::Cancelled)));
        assert!(rounds.load(Ordering::Relaxed) < 100, "stopped within a few rounds");
    }

    #[test]
    fn a_cancelled_replicate_stops_at_once() {
        let s = setup(2, 1_000_000);
        s.cancel.store(true, Ordering::Relaxed);
        assert!(matches!(run_tournament(s), Err(Error::Cancelled)));
    }
}
