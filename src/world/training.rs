//! The training World: the tournament World's tables, seats and phases, plus one learner
//! participant whose decisions are made by a batched system. Every table waiting on the
//! learner is answered by ONE forward pass (`decide_learner`); each table keeps the learner's
//! trajectory for the current round, and `collect` closes it when the round ends: the reward
//! of the learner's last decision is the round's payoff (coins change only at the end of a
//! round, so whatever the other seats did in between reaches the learner there), scaled by the
//! game's largest possible return.

use std::sync::Mutex;

use bevy_ecs::prelude::*;
use mechsim_agents::{Batch, Learner, Rollout};

use super::{
    Config, DecisionLog, Failure, GameRes, PolicyFactory, Progress, Remaining, Rotation, RoundLog, RoundRow, Table,
    apply, deal, decide, phase_schedule, request, settle, spawn_seats,
};
use crate::core::error::{Error, Result};
use crate::core::game::{State, Turn};
use crate::core::rng::{SimRng, Stream, derive_seed};
use crate::core::tournament::Tournament;

/// The learner, shared by every table of the World.
#[derive(Resource)]
struct LearnerRes(Mutex<Box<dyn Learner>>);

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

/// Reward scale and shapes.
#[derive(Resource)]
struct Shapes {
    obs_len: usize,
    num_actions: usize,
    reward_scale: f32,
}

fn decide_learner<G: Tournament>(
    config: Res<Config>,
    shapes: Res<Shapes>,
    learner: Res<LearnerRes>,
    mut failure: ResMut<Failure>,
    mut tables: Query<(&mut Table<G>, &mut Trajectory)>,
) {
    let Some(me) = config.learner else { return };
    let mut batch = Batch::new(shapes.obs_len, shapes.num_actions);
    let mut waiting = Vec::new();
    let mut uniforms = Vec::new();
    let mut obs = vec![0f32; shapes.obs_len];
    let mut legal = Vec::new();
    for (entity_index, (table, mut trajectory)) in tables.iter_mut().enumerate() {
        let Some(state) = table.state.as_ref() else { continue };
        let Turn::Player(player) = state.turn() else { continue };
        if table.players[player] != me {
            continue;
        }
        if let Err(e) = crate::policies::learned::encode_decision(state, player, &mut obs, &mut legal, &mut batch) {
            failure.0 = Some(format!("table {}: {e}", table.index));
            return;
        }
        uniforms.push(trajectory.rng.unit());
        waiting.push(entity_index);
    }
    if waiting.is_empty() {
        return;
    }
    let decisions = {
        let mut guard = learner.0.lock().unwrap_or_else(|p| p.into_inner());
        match guard.act(&batch, &uniforms, false) {
            Ok(d) => d,
            Err(e) => {
                failure.0 = Some(format!("learner: {e}"));
                return;
            }
        }
    };
    let mut row = 0;
    for (entity_index, (mut table, mut trajectory)) in tables.iter_mut().enumerate() {
        if waiting.get(row) != Some(&entity_index) {
            continue;
        }
        let d = decisions[row];
        trajectory.steps.push(Step {
            observation: batch.observation(row).to_vec(),
            mask: batch.mask(row).to_vec(),
            action: d.action,
            log_prob: d.log_prob,
            value: d.value,
        });
        if let Some(slot) = table.tallies.get_mut(me) {
            slot.decisions += 1;
        }
        table.pending = Some(d.action);
        row += 1;
    }
}

fn collect<G: Tournament>(
    config: Res<Config>,
    shapes: Res<Shapes>,
    mut rollout: ResMut<RolloutRes>,
    mut tables: Query<(&Table<G>, &mut Trajectory)>,
) {
    let Some(me) = config.learner else { return };
    for (table, mut trajectory) in &mut tables {
        let Some(state) = table.state.as_ref() else { continue };
        if !state.is_terminal() {
            continue;
        }
        let steps = std::mem::take(&mut trajectory.steps);
        let Some(player) = table.players.iter().position(|p| *p == me) else {
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
        let mut world = World::new();
        for t in 0..setup.tables.max(1) {
            let table_seed = derive_seed(setup.seed, Stream::Table, t as u64);
            let seats = spawn_seats::<G>(&mut world, (setup.make_policies)()?, t, table_seed, &setup.labels)?;
            world.spawn((
                Table::<G> {
                    index: t,
                    seed: table_seed,
                    ledger: setup.game.new_ledger(participants),
                    state: None,
                    chance_rng: SimRng::new(table_seed),
                    players: Vec::new(),
                    seats,
                    round: 0,
                    rounds_total: u64::MAX,
                    pending: None,
                    tallies: Vec::new(),
                },
                Trajectory {
                    steps: Vec::new(),
                    rng: SimRng::new(derive_seed(
                        table_seed,
                        Stream::Seat,
                        setup.learner_participant as u64 ^ 0xA11CE,
                    )),
                },
            ));
        }
        world.insert_resource(Shapes {
            obs_len: setup.game.observation_len(),
            num_actions: setup.game.num_distinct_actions(),
            reward_scale: setup.game.max_utility().max(f64::MIN_POSITIVE) as f32,
        });
        world.insert_resource(GameRes(setup.game));
        world.insert_resource(Config {
            rotation: setup.rotation,
            participants,
            abort_on_illegal: false,
            labels: setup.labels,
            learner: Some(setup.learner_participant),
        });
        world.insert_resource(LearnerRes(Mutex::new(learner)));
        world.insert_resource(RoundLog::default());
        world.insert_resource(DecisionLog::default());
        world.insert_resource(Remaining(u64::MAX));
        world.insert_resource(Failure::default());
        world.insert_resource(Progress(std::sync::Arc::new(|_| {})));
        let shapes = world.resource::<Shapes>();
        let rollout = Rollout::new(shapes.obs_len, shapes.num_actions);
        world.insert_resource(RolloutRes(rollout));
        let mut schedule = phase_schedule();
        schedule.add_systems(
            (
                deal::<G>,
                request::<G>,
                decide::<G>,
                decide_learner::<G>,
                apply::<G>,
                collect::<G>,
                settle::<G>,
            )
                .chain(),
        );
        schedule
            .initialize(&mut world)
            .map_err(|e| Error::Run(format!("training schedule did not build: {e}")))?;
        Ok(TrainingWorld { world, schedule })
    }

    /// Plays until at least `transitions` learner transitions of finished rounds are ready,
    /// and returns them with the rounds played meanwhile.
    pub fn collect(&mut self, transitions: usize) -> Result<(Rollout, Vec<RoundRow>)> {
        while self.world.resource::<RolloutRes>().0.len() < transitions {
            self.schedule.run(&mut self.world);
            if let Some(message) = self.world.resource_mut::<Failure>().0.take() {
                return Err(Error::Run(message));
            }
        }
        let shapes = self.world.resource::<Shapes>();
        let empty = Rollout::new(shapes.obs_len, shapes.num_actions);
        let rollout = std::mem::replace(&mut self.world.resource_mut::<RolloutRes>().0, empty);
        let rounds = std::mem::take(&mut self.world.resource_mut::<RoundLog>().0);
        self.world.resource_mut::<DecisionLog>().0.clear();
        Ok((rollout, rounds))
    }

    /// The learner, for updates and checkpoints between collections.
    pub fn learner(&mut self) -> &mut Box<dyn Learner> {
        self.world
            .resource_mut::<LearnerRes>()
            .into_inner()
            .0
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
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
    use std::sync::Arc;

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
            .map(|r| r.metrics.payoff as f32)
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
    fn collection_is_reproducible() {
        let run = || {
            let mut w = world(8, 5, Arc::new(Mutex::new(Vec::new())));
            w.collect(500).unwrap().0
        };
        assert_eq!(run(), run());
    }
}
