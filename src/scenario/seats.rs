//! The parts of a scenario file that name registered things: the `game` table (name, rule
//! set, player count, rule overrides checked against the game's declared parameters) and
//! the `[[seats]]` / `[[opponents]]` lists (policy names, their parameters, labels), with
//! errors at the offending key that list what would be valid.

use std::collections::BTreeMap;
use std::path::Path;

use super::source::Seg;
use super::{Ctx, key, quoted};
use crate::core::error::Result;
use crate::core::params::{GameSpec, ParamKind, ParamValue, Params, unknown_key_message, value_hint};
use crate::policies::PolicyRole;
use crate::registry::{self, GameEntry, PolicyInfo};
use crate::runner::SeatPlan;

fn to_param(value: &toml::Value) -> std::result::Result<ParamValue, String> {
    match value {
        toml::Value::Integer(i) => Ok(ParamValue::Int(*i)),
        toml::Value::Float(f) => Ok(ParamValue::Float(*f)),
        toml::Value::Boolean(b) => Ok(ParamValue::Bool(*b)),
        toml::Value::String(s) => Ok(ParamValue::Str(s.clone())),
        toml::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                toml::Value::String(s) => Ok(s.clone()),
                other => Err(format!("item {i} must be a string, found {}", other.type_str())),
            })
            .collect::<std::result::Result<Vec<String>, String>>()
            .map(ParamValue::List),
        toml::Value::Table(table) => table
            .iter()
            .map(|(k, v)| match v {
                toml::Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!("`{k}` must be a string, found {}", other.type_str())),
            })
            .collect::<std::result::Result<BTreeMap<String, String>, String>>()
            .map(ParamValue::Map),
        other => Err(format!(
            "expected a string, number, boolean, array or table, found {}",
            other.type_str()
        )),
    }
}

pub(crate) fn validate_game(ctx: &Ctx<'_>, table: &toml::Table, seats: Option<usize>) -> Result<(GameEntry, GameSpec)> {
    let at = |k: &str| vec![key("game"), key(k)];
    let name = match table.get("name") {
        Some(toml::Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(ctx.error_at(
                &at("name"),
                false,
                format!("must be a string, found {}", other.type_str()),
            ));
        }
        None => return Err(ctx.error_at(&[key("game")], true, "missing required key `name`".into())),
    };
    let Some(entry) = registry::game(&name) else {
        let names: Vec<&str> = registry::games().iter().map(|g| g.name).collect();
        let hint = value_hint(&name, names.iter().copied());
        return Err(ctx.error_at(
            &at("name"),
            false,
            format!(
                "unknown game \"{name}\"{hint} (registered: {}; see `mechsim list games`)",
                quoted(&names)
            ),
        ));
    };
    let rules = match table.get("rules") {
        None => entry.rule_sets.first().copied().unwrap_or_default().to_string(),
        Some(toml::Value::String(s)) if entry.rule_sets.contains(&s.as_str()) => s.clone(),
        Some(other) => {
            let given = other.as_str().map_or_else(|| other.to_string(), |s| format!("\"{s}\""));
            let hint = other
                .as_str()
                .map(|s| value_hint(s, entry.rule_sets.iter().copied()))
                .unwrap_or_default();
            return Err(ctx.error_at(
                &at("rules"),
                false,
                format!(
                    "unknown rule set {given}{hint} (valid for {}: {})",
                    entry.name,
                    quoted(entry.rule_sets)
                ),
            ));
        }
    };
    let (lo, hi) = entry.players;
    let players = match table.get("players") {
        None => seats.unwrap_or(lo),
        Some(toml::Value::Integer(p)) if (lo as i64..=hi as i64).contains(p) => *p as usize,
        Some(other) => {
            return Err(ctx.error_at(
                &at("players"),
                false,
                format!("must be an integer in {lo}..={hi}, found {other}"),
            ));
        }
    };
    if let Some(seats) = seats {
        if players != seats {
            return Err(ctx.error_at(
                &at("players"),
                false,
                format!("{players} players but {seats} [[seats]] entries; give one [[seats]] entry per player"),
            ));
        }
        if !(lo..=hi).contains(&seats) {
            return Err(ctx.error_at(
                &[key("seats")],
                true,
                format!(
                    "{} takes {lo} to {hi} players, found {seats} [[seats]] entries",
                    entry.name
                ),
            ));
        }
    }
    let mut params = Params::new();
    for (k, v) in table {
        if matches!(k.as_str(), "name" | "rules" | "players") {
            continue;
        }
        let valid = ["name", "rules", "players"]
            .into_iter()
            .chain(entry.params.iter().map(|p| p.name));
        if !entry.params.iter().any(|p| p.name == k) {
            return Err(ctx.error_at(&at(k), true, unknown_key_message(k, valid)));
        }
        let value = to_param(v).map_err(|m| ctx.error_at(&at(k), false, m))?;
        params
            .set(entry.params, k, value)
            .map_err(|m| ctx.error_at(&at(k), false, m))?;
    }
    let spec = GameSpec {
        name,
        rules,
        players,
        params,
    };
    Ok((entry, spec))
}

/// A parameter naming a rollout (or other helper) policy must name a plain policy of the
/// same game.
fn check_policy_name(ctx: &Ctx<'_>, at: &[Seg], game: &str, policies: &[PolicyInfo], name: &str) -> Result<()> {
    let usable: Vec<&str> = policies
        .iter()
        .filter(|p| p.role == PolicyRole::Plain)
        .map(|p| p.name)
        .collect();
    if usable.contains(&name) {
        return Ok(());
    }
    let key = match at.last() {
        Some(Seg::Key(k)) => k.as_str(),
        _ => "policy",
    };
    let hint = value_hint(name, usable.iter().copied());
    Err(ctx.error_at(
        at,
        false,
        format!(
            "`{key}` must name a non-search policy of {game}{hint} (valid: {})",
            quoted(&usable)
        ),
    ))
}

pub(crate) fn validate_seats(
    ctx: &Ctx<'_>,
    entry: &GameEntry,
    game: &GameSpec,
    seats: &[toml::Table],
) -> Result<Vec<SeatPlan>> {
    validate_seat_list(ctx, entry, game, seats, "seats")
}

/// Validates a list of seat tables (`[[seats]]`, `[[opponents]]`) and then builds each
/// seat's policy once, as a run would (external agents and solvers aside), so `check` refuses every
/// seat a run would refuse (a `ppo` seat without a checkpoint, a search with no budget).
pub(crate) fn validate_seat_list(
    ctx: &Ctx<'_>,
    entry: &GameEntry,
    game: &GameSpec,
    seats: &[toml::Table],
    list: &str,
) -> Result<Vec<SeatPlan>> {
    let plans = read_seat_list(ctx, entry, seats, list)?;
    entry.check_seats(game, &plans).map_err(|(i, m)| {
        ctx.error_at(
            &[key(list), Seg::Index(i), key("policy")],
            false,
            format!("{m} (policy \"{}\")", plans[i].policy),
        )
    })?;
    Ok(plans)
}

fn read_seat_list(ctx: &Ctx<'_>, entry: &GameEntry, seats: &[toml::Table], list: &str) -> Result<Vec<SeatPlan>> {
    let policies = entry.policies();
    let names: Vec<&str> = policies.iter().map(|p| p.name).collect();
    let mut plans: Vec<SeatPlan> = Vec::with_capacity(seats.len());
    for (i, seat) in seats.iter().enumerate() {
        let at = |k: &str| vec![key(list), Seg::Index(i), key(k)];
        let policy = match seat.get("policy") {
            Some(toml::Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(ctx.error_at(
                    &at("policy"),
                    false,
                    format!("must be a string, found {}", other.type_str()),
                ));
            }
            None => {
                return Err(ctx.error_at(
                    &[key(list), Seg::Index(i)],
                    false,
                    "missing required key `policy`".into(),
                ));
            }
        };
        let Some(info) = policies.iter().find(|p| p.name == policy) else {
            let hint = value_hint(&policy, names.iter().copied());
            return Err(ctx.error_at(
                &at("policy"),
                false,
                format!(
                    "unknown policy \"{policy}\" for {}{hint} (valid: {})",
                    entry.name,
                    quoted(&names)
                ),
            ));
        };
        let mut params = Params::new();
        let mut label = None;
        for (k, v) in seat {
            match k.as_str() {
                "policy" => {}
                "label" => match v {
                    toml::Value::String(s) if !s.trim().is_empty() => label = Some(s.clone()),
                    other => {
                        return Err(ctx.error_at(&at(k), false, format!("must be a non-empty string, found {other}")));
                    }
                },
                _ => {
                    if !info.params.iter().any(|p| p.name == k) {
                        let valid = ["policy", "label"]
                            .into_iter()
                            .chain(info.params.iter().map(|p| p.name));
                        return Err(ctx.error_at(
                            &at(k),
                            true,
                            format!("{} (policy \"{policy}\")", unknown_key_message(k, valid)),
                        ));
                    }
                    let value = to_param(v).map_err(|m| ctx.error_at(&at(k), false, m))?;
                    let spec = info.params.iter().find(|p| p.name == k).expect("checked above");
                    if let (ParamKind::PolicyName, ParamValue::Str(name)) = (spec.kind, &value) {
                        check_policy_name(ctx, &at(k), entry.name, &policies, name)?;
                    }
                    params
                        .set(info.params, k, value)
                        .map_err(|m| ctx.error_at(&at(k), false, m))?;
                }
            }
        }
        if let Some(prepare) = info.prepare {
            let base = ctx.path.parent().unwrap_or(Path::new("."));
            let base = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base
            };
            prepare(&mut params, base).map_err(|(k, m)| {
                let at = if seat.contains_key(k) {
                    at(k)
                } else {
                    vec![key(list), Seg::Index(i)]
                };
                ctx.error_at(&at, false, format!("{m} (policy \"{policy}\")"))
            })?;
        }
        let label = label.unwrap_or_else(|| policy.clone());
        plans.push(SeatPlan { policy, label, params });
    }
    // Repeated labels are numbered by seat so every participant is distinguishable.
    for i in 0..plans.len() {
        if plans.iter().filter(|p| p.label == plans[i].label).count() > 1 {
            let explicit = seats[i].contains_key("label");
            if explicit {
                return Err(ctx.error_at(
                    &[key(list), Seg::Index(i), key("label")],
                    false,
                    format!(
                        "label \"{}\" is used by more than one seat; labels must be unique",
                        plans[i].label
                    ),
                ));
            }
        }
    }
    let labels: Vec<String> = plans.iter().map(|p| p.label.clone()).collect();
    for (i, plan) in plans.iter_mut().enumerate() {
        if labels.iter().filter(|l| **l == labels[i]).count() > 1 {
            plan.label = format!("{}#{i}", labels[i]);
        }
    }
    Ok(plans)
}
