//! The training World: the tournament World's tables, seats and phases, with one participant's
//! seats marked `LearnerSeat` and answered by a learner in batches. Every table waiting on the
//! learner is answered by ONE forward pass (`learn`); each table keeps the learner's
//! trajectory for the current round, and `close` ends it when the round ends: the reward of
//! the learner's last decision is the round's payoff (coins change only at the end of a round,
//! so whatever the other seats did in between reaches the learner there), scaled by the
//! game's largest possible return. Tables advance one step per schedule run (`Pace::Step`),
//! in turn on the calling thread (a step is too little work to hand to another), so the
//! learner's batches and rollouts are those of the lock-step World this replaced.

use bevy_ecs::prelude::*;
use mechsim_agents::{Batch, Learner, Rollout};

use super::{
    Cancel, Exclusive, GameRes, LearnerSeat, Pace, Phase, PolicyFactory, Progress, Remaining, RemoteSeat, Rotation,
    Round, RoundRow, Rules, SeatMap, Table, TableRows, TableSpec, Tallies, phase_world, run_phases, spawn_table,
    tournament_schedule,
};
use crate::core::error::{Error, Result};
use crate::core::game::{State, Turn};
use crate::core::rng::{SimRng, Stream, derive_seed};
use crate::core::tournament::Tournament;

/// The learner, shared by every table of the World.
#[derive(Resource)]
struct LearnerRes(Exclusive<Box<dyn Learner>>);

/// Finished trajectories waiting for the next update.
#[derive(Resource)]
struct RolloutRes(Rollout);

/// A step of the learner's trajectory at one table.
#[derive(Debug, Clone)]
struct Step {
    observation: Vec<f32>,
    mask: Vec<bool>,
    action: u32,
    log_prob: f32,
    value: f32,
}

/// The learner's trajectory in the table's current round, and its private random stream.
#[derive(Component)]
struct Trajectory {
    steps: Vec<Step>,
    rng: SimRng,
}

/// Rounds settled since the last collection, in settling order (tables in index order
/// within a schedule run).
#[derive(Resource, Default)]
struct RoundLog(Vec<RoundRow>);

/// Reward scale and shapes.
#[derive(Resource)]
struct Shapes {
    obs_len: usize,
    num_actions: usize,
    reward_scale: f32,
}

/// The participant whose seat at this table is the learner's.
fn learner_of(map: &SeatMap, learners: &Query<(), With<LearnerSeat>>) -> Option<usize> {
    map.0.iter().position(|seat| learners.contains(*seat))
}

fn learn<G: Tournament>(
    shapes: Res<Shapes>,
    rules: Res<Rules>,
    mut learner: ResMut<LearnerRes>,
    mut tables: Query<(&Table, &mut Round<G>, &mut Tallies, &SeatMap, &mut Trajectory)>,
    learners: Query<(), With<LearnerSeat>>,
) -> bevy_ecs::error::Result {
    let mut waiting: Vec<_> = tables
        .iter_mut()
        .filter(|(_, round, _, map, _)| {
            !round.moved
                && round
                    .state
                    .as_ref()
                    .is_some_and(|s| matches!(s.turn(), Turn::Player(p) if learners.contains(map.0[round.players[p]])))
        })
        .collect();
    if waiting.is_empty() {
        return Ok(());
    }
    waiting.sort_by_key(|(table, ..)| table.index);
    let mut batch = Batch::new(shapes.obs_len, shapes.num_actions);
    let mut uniforms = Vec::with_capacity(waiting.len());
    let mut obs = vec![0f32; shapes.obs_len];
    let mut legal = Vec::new();
    for (table, round, _, _, trajectory) in &mut waiting {
        let state = round.state.as_ref().expect("waiting on the learner");
        let Turn::Player(player) = state.turn() else {
            unreachable!("waiting on the learner")
        };
        crate::policies::learned::encode_decision(state, player, &mut obs, &mut legal, &mut batch)
            .map_err(|e| Error::Run(format!("table {}: {e}", table.index)))?;
        uniforms.push(trajectory.rng.unit());
    }
    let decisions = learner
        .0
        .get()
        .act(&batch, &uniforms, false)
        .map_err(|e| Error::Run(format!("learner: {e}")))?;
    for (row, (_, mut round, mut tallies, _, mut trajectory)) in waiting.into_iter().enumerate() {
        let d = decisions[row];
        trajectory.steps.push(Step {
            observation: batch.observation(row).to_vec(),
            mask: batch.mask(row).to_vec(),
            action: d.action,
            log_prob: d.log_prob,
            value: d.value,
        });
        let round = &mut *round;
        let state = round.state.as_mut().expect("waiting on the learner");
        if let Turn::Player(player) = state.turn()
            && let Some(tally) = tallies.0.get_mut(round.players[player])
        {
            tally.decisions += 1;
        }
        state.apply_action(d.action);
        round.moved = rules.pace == Pace::Step;
    }
    Ok(())
}

fn close<G: Tournament>(
    shapes: Res<Shapes>,
    mut rollout: ResMut<RolloutRes>,
    mut tables: Query<(&Round<G>, &SeatMap, &mut Trajectory)>,
    learners: Query<(), With<LearnerSeat>>,
) {
    for (round, map, mut trajectory) in &mut tables {
        let Some(state) = round.state.as_ref() else { continue };
        if !state.is_terminal() {
            continue;
        }
        let steps = std::mem::take(&mut trajectory.steps);
        let Some(me) = learner_of(map, &learners) else { continue };
        let Some(player) = round.players.iter().position(|p| *p == me) else {
            continue;
        };
        let payoff = state.returns().get(player).copied().unwrap_or(0.0) as f32 / shapes.reward_scale;
        let r = &mut rollout.0;
        let last = steps.len().saturating_sub(1);
        for (i, step) in steps.into_iter().enumerate() {
            r.observations.extend_from_slice(&step.observation);
            r.masks.extend_from_slice(&step.mask);
            r.actions.push(step.action);
            r.log_probs.push(step.log_prob);
            r.values.push(step.value);
            r.rewards.push(if i == last { payoff } else { 0.0 });
            r.dones.push(i == last);
            // Won = a strictly positive payoff (the round's winner in Dhumbal and the poker
            // games; the win in the board games).
            r.outcomes.push(if payoff > 0.0 { 1.0 } else { 0.0 });
        }
    }
}

/// Moves the rows settled in this run out of the tables (decision rows are not kept).
fn record(mut log: ResMut<RoundLog>, mut tables: Query<(&Table, &mut TableRows)>) {
    let mut settled: Vec<_> = tables.iter_mut().filter(|(_, rows)| !rows.rounds.is_empty()).collect();
    settled.sort_by_key(|(table, _)| table.index);
    for (_, mut rows) in settled {
        log.0.append(&mut rows.rounds);
        rows.values.clear();
        rows.decisions.clear();
        rows.round_start = 0;
    }
}

/// How to build a training World.
pub struct TrainingSetup<G: Tournament> {
    /// The game.
    pub game: G,
    /// Seed of the World's tables and seats.
    pub seed: u64,
    /// Tables stepping side by side.
    pub tables: usize,
    /// Seating rule (rotate, so the learner plays every position).
    pub rotation: Rotation,
    /// The learner's participant index.
    pub learner_participant: usize,
    /// One policy per participant; the learner's entry is never called.
    pub make_policies: PolicyFactory<G>,
    /// Participant labels.
    pub labels: Vec<String>,
}

/// A World whose tables play on and on, with a learner seat answered in batches.
pub struct TrainingWorld {
    world: World,
    schedule: Schedule,
}

impl TrainingWorld {
    /// Builds the World around `learner`.
    pub fn new<G: Tournament + Clone>(setup: TrainingSetup<G>, learner: Box<dyn Learner>) -> Result<Self> {
        let participants = setup.labels.len();
        let tables = setup.tables.max(1);
        let mut world = phase_world();
        for t in 0..tables {
            let seed = derive_seed(setup.seed, Stream::Table, t as u64);
            let spec = TableSpec {
                game: &setup.game,
                index: t,
                seed,
                rounds: u64::MAX,
                policies: (setup.make_policies)()?,
                labels: &setup.labels,
                remote: &[],
                learner: Some(setup.learner_participant),
            };
            let table = spawn_table(&mut world, spec)?;
            world.entity_mut(table).insert(Trajectory {
                steps: Vec::new(),
                rng: SimRng::new(derive_seed(
                    seed,
                    Stream::Seat,
                    setup.learner_participant as u64 ^ 0xA11CE,
                )),
            });
        }
        let shapes = Shapes {
            obs_len: setup.game.observation_len(),
            num_actions: setup.game.num_distinct_actions(),
            reward_scale: setup.game.max_utility().max(f64::MIN_POSITIVE) as f32,
        };
        world.insert_resource(RolloutRes(Rollout::new(shapes.obs_len, shapes.num_actions)));
        world.insert_resource(shapes);
        world.insert_resource(GameRes(setup.game));
        world.insert_resource(Rules {
            rotation: setup.rotation,
            participants,
            tables,
            abort_on_illegal: false,
            labels: setup.labels,
            pace: Pace::Step,
            interruptible: false,
        });
        world.insert_resource(LearnerRes(Exclusive::new(learner)));
        world.insert_resource(RoundLog::default());
        world.insert_resource(Remaining(u64::MAX));
        world.insert_resource(Progress(std::sync::Arc::new(|_| {})));
        world.insert_resource(Cancel(std::sync::Arc::default()));
        let mut schedule = tournament_schedule::<G>();
        schedule.add_systems((
            learn::<G>.in_set(Phase::Learn),
            close::<G>.in_set(Phase::Close),
            record.in_set(Phase::Record),
        ));
        schedule
            .initialize(&mut world)
            .map_err(|e| Error::Run(format!("training schedule did not build: {e}")))?;
        Ok(TrainingWorld { world, schedule })
    }

    /// Marks the seats of the participants flagged in `remote` (external agents) so that each
    /// hears every table's request before it is asked for an answer.
    pub fn with_remote_seats(mut self, remote: &[bool]) -> Self {
        let mut seats = self
            .world
            .query_filtered::<(Entity, &super::Seat), Without<LearnerSeat>>();
        let marked: Vec<Entity> = seats
            .iter(&self.world)
            .filter(|(_, seat)| remote.get(seat.participant).copied().unwrap_or(false))
            .map(|(entity, _)| entity)
            .collect();
        for entity in marked {
            self.world.entity_mut(entity).insert(RemoteSeat);
        }
        self
    }

    /// Plays until at least `transitions` learner transitions of finished rounds are ready,
    /// and returns them with the rounds played meanwhile.
    pub fn collect(&mut self, transitions: usize) -> Result<(Rollout, Vec<RoundRow>)> {
        while self.world.resource::<RolloutRes>().0.len() < transitions {
            run_phases(&mut self.schedule, &mut self.world)?;
        }
        let shapes = self.world.resource::<Shapes>();
        let empty = Rollout::new(shapes.obs_len, shapes.num_actions);
        let rollout = std::mem::replace(&mut self.world.resource_mut::<RolloutRes>().0, empty);
        let rounds = std::mem::take(&mut self.world.resource_mut::<RoundLog>().0);
        Ok((rollout, rounds))
    }

    /// The learner, for updates and checkpoints between collections.
    pub fn learner(&mut self) -> &mut Box<dyn Learner> {
        self.world.resource_mut::<LearnerRes>().into_inner().0.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::game::Game;
    use crate::core::policy::Policy;
    use crate::games::dhumbal::{Dhumbal, DhumbalRules};
    use crate::policies::random::RandomPolicy;
    use mechsim_agents::{AgentError, Decision, UniformLearner, UpdateStats};
    use std::sync::{Arc, Mutex};

    /// A uniform learner that records the size of every batch it is asked.
    struct Counting {
        inner: UniformLearner,
        sizes: Arc<Mutex<Vec<usize>>>,
    }

    impl Learner for Counting {
        fn act(&mut self, batch: &Batch, u: &[f64], g: bool) -> std::result::Result<Vec<Decision>, AgentError> {
            self.sizes.lock().unwrap().push(batch.len());
            self.inner.act(batch, u, g)
        }
        fn update(&mut self, r: &Rollout) -> std::result::Result<UpdateStats, AgentError> {
            self.inner.update(r)
        }
        fn save(&self, p: &std::path::Path) -> std::result::Result<(), AgentError> {
            self.inner.save(p)
        }
    }

    fn world(tables: usize, seed: u64, sizes: Arc<Mutex<Vec<usize>>>) -> TrainingWorld {
        let setup = TrainingSetup {
            game: Dhumbal::new(DhumbalRules::paper(), 4),
            seed,
            tables,
            rotation: Rotation::Rotate,
            learner_participant: 0,
            make_policies: Box::new(|| {
                Ok((0..4)
                    .map(|_| Box::new(RandomPolicy) as Box<dyn Policy<Dhumbal>>)
                    .collect())
            }),
            labels: (0..4).map(|i| format!("p{i}")).collect(),
        };
        TrainingWorld::new(
            setup,
            Box::new(Counting {
                inner: UniformLearner,
                sizes,
            }),
        )
        .unwrap()
    }

    #[test]
    fn waiting_tables_are_answered_in_batches_and_rounds_close_trajectories() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let mut w = world(16, 3, Arc::clone(&sizes));
        let (rollout, rounds) = w.collect(2000).unwrap();
        rollout.validate().unwrap();
        assert!(rollout.len() >= 2000);
        let sizes = sizes.lock().unwrap();
        assert!(
            *sizes.iter().max().unwrap() > 1,
            "several tables share one forward pass"
        );
        assert!(
            sizes.len() < rollout.len(),
            "fewer forward passes ({}) than decisions ({})",
            sizes.len(),
            rollout.len()
        );
        // Every action is legal under its own mask; rewards come only at the ends of rounds,
        // and each round's terminal reward is the learner's payoff, scaled.
        let scale = Dhumbal::new(DhumbalRules::paper(), 4).max_utility() as f32;
        let mut payoffs = Vec::new();
        for i in 0..rollout.len() {
            assert!(rollout.masks[i * rollout.num_actions + rollout.actions[i] as usize]);
            if rollout.dones[i] {
                payoffs.push(rollout.rewards[i] * scale);
            } else {
                assert_eq!(rollout.rewards[i], 0.0);
            }
        }
        // Rounds that ended before the learner's first decision have no action to credit.
        let learner_rounds: Vec<f32> = rounds
            .iter()
            .filter(|r| r.participant == 0 && r.decisions > 0)
            .map(|r| r.payoff as f32)
            .collect();
        assert_eq!(
            payoffs.len(),
            learner_rounds.len(),
            "one closed trajectory per round the learner played"
        );
        let mut a = payoffs.clone();
        let mut b = learner_rounds.clone();
        a.sort_by(f32::total_cmp);
        b.sort_by(f32::total_cmp);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-3, "terminal rewards are the round payoffs");
        }
    }

    #[test]
    fn collection_is_reproducible_at_any_thread_count() {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut w = world(8, 5, Arc::new(Mutex::new(Vec::new())));
                w.collect(500).unwrap().0
            })
        };
        assert_eq!(run(1), run(1));
        assert_eq!(run(1), run(2));
    }
}
