//! The ad-load marketplace's response model (../shared/specs/adload.md): heterogeneous
//! users, sessions of feed fetches, and what a fetch with k ad slots does to satisfaction
//! (does the user ask for another fetch, how many organic items does it view) and revenue
//! (impressions and clicks), with fatigue that carries over within a session. Everything
//! is a parametric function with known expectations, so every policy has a TRUE value.

use serde::Deserialize;

use crate::core::rng::SimRng;

/// Items per fetch (organic items = ITEMS - ads).
pub const ITEMS: usize = 10;

/// Context features, in `context_*` column order.
pub const FEATURES: [&str; 9] = [
    "tolerance",
    "engagement",
    "activity",
    "ad_affinity",
    "fetch_index",
    "ads_seen",
    "since_last_ad",
    "hour",
    "device",
];

/// Response-model parameters (all have defaults; every one is a scenario key).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketConfig {
    /// Largest ad load; actions are 0..=max_ads.
    pub max_ads: usize,
    /// Range of users' ad tolerance (uniform).
    pub tolerance: [f64; 2],
    /// Range of users' engagement: probability of viewing each organic item.
    pub engagement: [f64; 2],
    /// Range of users' activity: probability of opening a session at a tick.
    pub activity: [f64; 2],
    /// Range of users' historical ad affinity (scales click-through).
    pub ad_affinity: [f64; 2],
    /// Continue logit: intercept.
    pub continue_base: f64,
    /// Continue logit: + per unit of engagement.
    pub continue_engagement: f64,
    /// Continue logit: - per ad slot times (1 - tolerance).
    pub continue_ads: f64,
    /// Continue logit: - per unit of fatigue.
    pub continue_fatigue: f64,
    /// Continue logit: - per 10 fetches into the session.
    pub continue_position: f64,
    /// Fatigue decay per fetch.
    pub fatigue_decay: f64,
    /// Base click-through rate of an ad.
    pub ctr: f64,
    /// Revenue per impression (mobile; desktop x 1.2).
    pub cpm: f64,
    /// Revenue per click.
    pub cpc: f64,
    /// Longest session (fetches).
    pub max_fetches: usize,
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            max_ads: 4,
            tolerance: [0.0, 1.0],
            engagement: [0.2, 0.8],
            activity: [0.05, 0.4],
            ad_affinity: [0.2, 1.0],
            continue_base: 1.8,
            continue_engagement: 1.5,
            continue_ads: 0.55,
            continue_fatigue: 1.2,
            continue_position: 0.6,
            fatigue_decay: 0.7,
            ctr: 0.04,
            cpm: 0.05,
            cpc: 1.0,
            max_fetches: 30,
        }
    }
}

impl MarketConfig {
    /// Number of actions (ad loads 0..=max_ads).
    pub fn actions(&self) -> usize {
        self.max_ads + 1
    }

    /// Checks ranges; the message names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (name, r) in [
            ("tolerance", self.tolerance),
            ("engagement", self.engagement),
            ("activity", self.activity),
            ("ad_affinity", self.ad_affinity),
        ] {
            if !(0.0 <= r[0] && r[0] <= r[1] && r[1] <= 1.0) {
                return Err((name.into(), format!("needs 0 <= low <= high <= 1, found {r:?}")));
            }
        }
        if !(1..=ITEMS).contains(&self.max_ads) {
            return Err((
                "max_ads".into(),
                format!("must be in 1..={ITEMS}, found {}", self.max_ads),
            ));
        }
        if !(0.0..1.0).contains(&self.fatigue_decay) {
            return Err((
                "fatigue_decay".into(),
                format!("must be in [0, 1), found {}", self.fatigue_decay),
            ));
        }
        for (name, v) in [("ctr", self.ctr), ("cpm", self.cpm), ("cpc", self.cpc)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err((name.into(), format!("must be >= 0, found {v}")));
            }
        }
        if self.ctr > 1.0 {
            return Err(("ctr".into(), format!("is a probability, found {}", self.ctr)));
        }
        if self.max_fetches == 0 {
            return Err(("max_fetches".into(), "must be at least 1".into()));
        }
        Ok(())
    }
}

/// A user's fixed traits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traits {
    /// Ad tolerance in [0, 1].
    pub tolerance: f64,
    /// Probability of viewing an organic item.
    pub engagement: f64,
    /// Probability of opening a session at a tick.
    pub activity: f64,
    /// Click propensity multiplier.
    pub ad_affinity: f64,
}

impl Traits {
    /// Draws a user.
    pub fn draw(cfg: &MarketConfig, rng: &mut SimRng) -> Self {
        let mut u = |r: [f64; 2]| r[0] + (r[1] - r[0]) * rng.unit();
        Traits {
            tolerance: u(cfg.tolerance),
            engagement: u(cfg.engagement),
            activity: u(cfg.activity),
            ad_affinity: u(cfg.ad_affinity),
        }
    }
}

/// The session in progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Session {
    /// Session id (unique within a run).
    pub id: u64,
    /// Fetches so far.
    pub fetch_index: usize,
    /// Ads shown so far.
    pub ads_seen: usize,
    /// Fetches since the last fetch with an ad (the session length if none).
    pub since_last_ad: usize,
    /// Hidden fatigue (not in the context).
    pub fatigue: f64,
    /// Hour of day (0..24).
    pub hour: u32,
    /// Device class: 0 mobile, 1 desktop.
    pub device: u32,
}

impl Session {
    /// A fresh session.
    pub fn start(id: u64, rng: &mut SimRng) -> Self {
        Session {
            id,
            fetch_index: 0,
            ads_seen: 0,
            since_last_ad: 0,
            fatigue: 0.0,
            hour: rng.below(24) as u32,
            device: u32::from(rng.chance(0.35)),
        }
    }
}

/// The observed context of a fetch (FEATURES order).
pub fn context(t: &Traits, s: &Session) -> [f64; 9] {
    [
        t.tolerance,
        t.engagement,
        t.activity,
        t.ad_affinity,
        s.fetch_index as f64,
        s.ads_seen as f64,
        s.since_last_ad as f64,
        s.hour as f64,
        s.device as f64,
    ]
}

/// Expected outcomes of showing `ads` slots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expected {
    /// Probability the user asks for another fetch.
    pub p_continue: f64,
    /// Expected satisfaction = p_continue + 0.1 x expected organic items viewed.
    pub satisfaction: f64,
    /// Expected revenue.
    pub revenue: f64,
    /// Click-through rate per ad.
    pub ctr: f64,
    /// Probability of viewing an organic item.
    pub view: f64,
}

/// The response model's expectations.
pub fn expected(cfg: &MarketConfig, t: &Traits, s: &Session, ads: usize) -> Expected {
    let k = ads as f64;
    let logit = cfg.continue_base + cfg.continue_engagement * t.engagement
        - cfg.continue_ads * k * (1.0 - t.tolerance)
        - cfg.continue_fatigue * s.fatigue
        - cfg.continue_position * s.fetch_index as f64 / 10.0;
    let p_continue = if s.fetch_index + 1 >= cfg.max_fetches {
        0.0
    } else {
        1.0 / (1.0 + (-logit).exp())
    };
    let view = (t.engagement * (1.0 + 0.1 * (std::f64::consts::TAU * s.hour as f64 / 24.0).sin())).clamp(0.0, 1.0);
    let ctr = (cfg.ctr * t.ad_affinity * (1.0 - 0.5 * s.fatigue.min(1.0))).clamp(0.0, 1.0);
    let cpm = cfg.cpm * if s.device == 1 { 1.2 } else { 1.0 };
    Expected {
        p_continue,
        satisfaction: p_continue + 0.1 * (ITEMS - ads) as f64 * view,
        revenue: k * (cpm + ctr * cfg.cpc),
        ctr,
        view,
    }
}

/// A realised fetch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The user asked for another fetch.
    pub continues: bool,
    /// Organic items viewed.
    pub items_viewed: u32,
    /// Ad clicks.
    pub clicks: u32,
    /// 1[continues] + 0.1 x items viewed.
    pub satisfaction: f64,
    /// Impressions x cpm + clicks x cpc.
    pub revenue: f64,
}

/// Draws the outcome of showing `ads` slots and advances the session (fatigue, counters).
pub fn respond(cfg: &MarketConfig, t: &Traits, s: &mut Session, ads: usize, rng: &mut SimRng) -> Outcome {
    let e = expected(cfg, t, s, ads);
    let continues = rng.chance(e.p_continue);
    let items_viewed = (0..ITEMS - ads).filter(|_| rng.chance(e.view)).count() as u32;
    let clicks = (0..ads).filter(|_| rng.chance(e.ctr)).count() as u32;
    let cpm = cfg.cpm * if s.device == 1 { 1.2 } else { 1.0 };
    s.fatigue = cfg.fatigue_decay * s.fatigue + ads as f64 / cfg.max_ads as f64 * (1.0 - t.tolerance);
    s.fetch_index += 1;
    s.ads_seen += ads;
    s.since_last_ad = if ads > 0 { 0 } else { s.since_last_ad + 1 };
    Outcome {
        continues,
        items_viewed,
        clicks,
        satisfaction: f64::from(u8::from(continues)) + 0.1 * f64::from(items_viewed),
        revenue: ads as f64 * cpm + f64::from(clicks) * cfg.cpc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_ads_trade_satisfaction_for_revenue() {
        let cfg = MarketConfig::default();
        let t = Traits {
            tolerance: 0.3,
            engagement: 0.5,
            activity: 0.2,
            ad_affinity: 0.6,
        };
        let mut rng = SimRng::new(1);
        let s = Session::start(0, &mut rng);
        let e: Vec<Expected> = (0..=4).map(|k| expected(&cfg, &t, &s, k)).collect();
        for w in e.windows(2) {
            assert!(w[1].satisfaction < w[0].satisfaction);
            assert!(w[1].revenue > w[0].revenue);
        }
    }

    #[test]
    fn sampled_outcomes_match_their_expectations() {
        let cfg = MarketConfig::default();
        let t = Traits {
            tolerance: 0.5,
            engagement: 0.6,
            activity: 0.2,
            ad_affinity: 0.9,
        };
        let mut rng = SimRng::new(2);
        let start = Session::start(0, &mut rng);
        let e = expected(&cfg, &t, &start, 3);
        let n = 200_000;
        let (mut sat, mut rev) = (0.0, 0.0);
        for _ in 0..n {
            let mut s = start;
            let o = respond(&cfg, &t, &mut s, 3, &mut rng);
            sat += o.satisfaction;
            rev += o.revenue;
        }
        assert!((sat / n as f64 - e.satisfaction).abs() < 0.01);
        assert!((rev / n as f64 - e.revenue).abs() < 0.002);
    }
}
