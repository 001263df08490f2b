//! The ad-load marketplace as a bevy_ecs World: user entities whose components split their
//! identity, traits, the session in progress and their own random stream, and resources for
//! the market (its response model and session counter) and the platform that picks each
//! fetch's ad load, either from a fixed policy (logging, A/B evaluation) or from an online
//! bandit that learns as it goes. Each tick runs two systems in declared order: idle users
//! open sessions, then every user in a session requests one fetch (in user order) and the
//! outcome is recorded.

use std::sync::Arc;

use bevy_ecs::prelude::*;

use super::{phase_schedule, phase_world, run_phases};
use crate::bandit::marketplace::{self, MarketConfig, Session, Traits};
use crate::bandit::online::Bandit;
use crate::bandit::policies::AdPolicy;
use crate::core::error::{Error, Result};
use crate::core::rng::{SimRng, Stream, derive_seed};

/// One fetch, as logged, with the ground truth the simulator knows.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchRow {
    /// Session id.
    pub session: u64,
    /// Fetch index within the session.
    pub fetch: usize,
    /// User index.
    pub user: usize,
    /// Observed context (marketplace::FEATURES order).
    pub context: [f64; 9],
    /// Ad load chosen.
    pub action: usize,
    /// Probability the platform gave that action (1 for bandits' own choices).
    pub pscore: f64,
    /// Realised satisfaction.
    pub satisfaction: f64,
    /// Realised revenue.
    pub revenue: f64,
    /// Expected satisfaction of every action at this fetch (ground truth).
    pub true_satisfaction: Vec<f64>,
    /// Expected revenue of every action at this fetch (ground truth).
    pub true_revenue: Vec<f64>,
    /// Whether the session ended after this fetch.
    pub last: bool,
}

/// Who chooses the ad load.
pub enum Platform {
    /// A fixed stochastic policy.
    Policy(Arc<dyn AdPolicy>),
    /// An online learner, rewarded by satisfaction + lambda x revenue.
    Bandit {
        /// The learner.
        learner: Box<dyn Bandit>,
        /// Revenue weight of its reward.
        lambda: f64,
    },
}

/// A user's identity: its index.
#[derive(Component)]
struct User(usize);

#[derive(Component)]
struct UserTraits(Traits);

/// The session in progress, if any.
#[derive(Component)]
struct InSession(Option<Session>);

#[derive(Component)]
struct UserRng(SimRng);

/// The response model and the next session's id.
#[derive(Resource)]
struct Market {
    config: MarketConfig,
    next_session: u64,
}

#[derive(Resource)]
struct Chooser(Platform);

#[derive(Resource, Default)]
struct Log(Vec<FetchRow>);

#[derive(Resource)]
struct Progress(Arc<dyn Fn(u64) + Send + Sync>);

fn open_sessions(mut market: ResMut<Market>, mut users: Query<(&User, &UserTraits, &mut InSession, &mut UserRng)>) {
    let mut idle: Vec<_> = users
        .iter_mut()
        .filter(|(_, _, session, _)| session.0.is_none())
        .collect();
    idle.sort_by_key(|(user, ..)| user.0);
    for (_, traits, mut session, mut rng) in idle {
        if rng.0.chance(traits.0.activity) {
            session.0 = Some(Session::start(market.next_session, &mut rng.0));
            market.next_session += 1;
        }
    }
}

fn fetch(
    market: Res<Market>,
    mut chooser: ResMut<Chooser>,
    mut log: ResMut<Log>,
    mut users: Query<(&User, &UserTraits, &mut InSession, &mut UserRng)>,
    progress: Res<Progress>,
) {
    let cfg = &market.config;
    let k = cfg.actions();
    let mut active: Vec<_> = users
        .iter_mut()
        .filter(|(_, _, session, _)| session.0.is_some())
        .collect();
    active.sort_by_key(|(user, ..)| user.0);
    let mut probabilities = vec![0.0; k];
    let served = active.len() as u64;
    for (user, traits, mut in_session, mut rng) in active {
        let (traits, rng) = (&traits.0, &mut rng.0);
        let Some(mut session) = in_session.0 else { continue };
        let x = marketplace::context(traits, &session);
        let (action, pscore) = match &mut chooser.0 {
            Platform::Policy(policy) => {
                policy.probabilities(&x, &mut probabilities);
                let a = rng.weighted_index(&probabilities);
                (a, probabilities[a])
            }
            Platform::Bandit { learner, .. } => (learner.choose(&x, rng), 1.0),
        };
        let truth: Vec<marketplace::Expected> = (0..k)
            .map(|a| marketplace::expected(cfg, traits, &session, a))
            .collect();
        let fetch_index = session.fetch_index;
        let outcome = marketplace::respond(cfg, traits, &mut session, action, rng);
        if let Platform::Bandit { learner, lambda } = &mut chooser.0 {
            learner.update(&x, action, outcome.satisfaction + *lambda * outcome.revenue);
        }
        log.0.push(FetchRow {
            session: session.id,
            fetch: fetch_index,
            user: user.0,
            context: x,
            action,
            pscore,
            satisfaction: outcome.satisfaction,
            revenue: outcome.revenue,
            true_satisfaction: truth.iter().map(|e| e.satisfaction).collect(),
            true_revenue: truth.iter().map(|e| e.revenue).collect(),
            last: !outcome.continues,
        });
        in_session.0 = outcome.continues.then_some(session);
    }
    (progress.0)(served);
}

/// One simulation.
pub struct MarketSetup {
    /// Response model.
    pub config: MarketConfig,
    /// Users.
    pub users: usize,
    /// Ticks (each user may open a session, each user in a session fetches once).
    pub ticks: u64,
    /// Who chooses.
    pub platform: Platform,
    /// Seed (users' traits and streams derive from it).
    pub seed: u64,
    /// Called with fetches served.
    pub on_progress: Arc<dyn Fn(u64) + Send + Sync>,
}

/// Runs the marketplace; rows in serving order. Sessions still open at the end are cut
/// (their last row has `last = false`).
pub fn run_market(setup: MarketSetup) -> Result<Vec<FetchRow>> {
    let mut world = phase_world();
    for i in 0..setup.users {
        let mut rng = SimRng::new(derive_seed(setup.seed, Stream::Seat, i as u64));
        let traits = Traits::draw(&setup.config, &mut rng);
        world.spawn((User(i), UserTraits(traits), InSession(None), UserRng(rng)));
    }
    world.insert_resource(Market {
        config: setup.config,
        next_session: 0,
    });
    world.insert_resource(Chooser(setup.platform));
    world.insert_resource(Log::default());
    world.insert_resource(Progress(setup.on_progress));
    let mut schedule = phase_schedule();
    schedule.add_systems((open_sessions, fetch).chain());
    schedule
        .initialize(&mut world)
        .map_err(|e| Error::Run(format!("marketplace schedule did not build: {e}")))?;
    for _ in 0..setup.ticks {
        run_phases(&mut schedule, &mut world)?;
    }
    Ok(std::mem::take(&mut world.resource_mut::<Log>().0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bandit::policies::{Fixed, Uniform};

    fn run(platform: Platform, seed: u64) -> Vec<FetchRow> {
        run_market(MarketSetup {
            config: MarketConfig::default(),
            users: 200,
            ticks: 30,
            platform,
            seed,
            on_progress: Arc::new(|_| {}),
        })
        .unwrap()
    }

    #[test]
    fn sessions_are_logged_in_order_with_propensities() {
        let rows = run(Platform::Policy(Arc::new(Uniform)), 3);
        assert!(rows.len() > 1000, "{}", rows.len());
        assert!(rows.iter().all(|r| (r.pscore - 0.2).abs() < 1e-12));
        // Fetch indices count up within a session.
        let first = rows[0].session;
        let fetches: Vec<usize> = rows.iter().filter(|r| r.session == first).map(|r| r.fetch).collect();
        assert_eq!(fetches, (0..fetches.len()).collect::<Vec<_>>());
        assert_eq!(rows, run(Platform::Policy(Arc::new(Uniform)), 3), "seeded");
    }

    #[test]
    fn more_ads_end_sessions_sooner_and_earn_more() {
        let none = run(Platform::Policy(Arc::new(Fixed { ads: 0 })), 4);
        let many = run(Platform::Policy(Arc::new(Fixed { ads: 4 })), 4);
        let per_session = |rows: &[FetchRow]| rows.len() as f64 / rows.iter().filter(|r| r.last).count().max(1) as f64;
        assert!(per_session(&none) > per_session(&many));
        let revenue = |rows: &[FetchRow]| rows.iter().map(|r| r.revenue).sum::<f64>();
        assert!(revenue(&many) > revenue(&none));
    }
}
