//! Validation of the game kinds' files: good files, and each kind of mistake with the
//! message and position it gets.

use super::*;

const GOOD: &str = r#"
name = "t"
kind = "tournament"
seed = 7
seeds = 3
rounds = 10
game = { name = "dhumbal", rules = "paper", players = 2 }

[[seats]]
policy = "random"
[[seats]]
policy = "random"
"#;

fn err(text: &str) -> String {
    parse(Path::new("s.toml"), text).unwrap_err().to_string()
}

#[test]
fn a_good_file_validates_and_derives_seeds() {
    let s = parse(Path::new("s.toml"), GOOD).unwrap();
    let t = s.tournament().unwrap();
    assert_eq!(t.seeds.len(), 3);
    assert_eq!(t.seeds[0], replicate_seed(7, 0));
    assert_eq!(t.seats[0].label, "random#0");
    assert_eq!(t.seats[1].label, "random#1");
    assert_eq!(s.output_dir, PathBuf::from("results/t"));
    assert_eq!(s.hash.len(), 64);
}

#[test]
fn unknown_top_level_key_suggests() {
    let e = err(&GOOD.replace("rounds = 10", "roundz = 10"));
    assert!(
        e.starts_with("s.toml:6:1: key `roundz`: unknown key `roundz`; did you mean `rounds`?"),
        "{e}"
    );
}

#[test]
fn wrong_type_names_the_key() {
    let e = err(&GOOD.replace("rounds = 10", "rounds = \"ten\""));
    assert!(e.starts_with("s.toml:6:10: key `rounds`:"), "{e}");
}

#[test]
fn unknown_policy_and_game_and_rule_override() {
    let e = err(&GOOD.replacen("policy = \"random\"", "policy = \"dhumbal-agressive\"", 1));
    assert!(
        e.contains("s.toml:10:10: key `seats[0].policy`: unknown policy \"dhumbal-agressive\""),
        "{e}"
    );
    assert!(e.contains("did you mean \"dhumbal-aggressive\"?"), "{e}");
    let e = err(&GOOD.replace("name = \"dhumbal\"", "name = \"dhumbel\""));
    assert!(e.contains("unknown game \"dhumbel\"; did you mean \"dhumbal\"?"), "{e}");
    let e = err(&GOOD.replace("players = 2", "players = 2, jhyap_treshold = 7"));
    assert!(
        e.contains("key `game.jhyap_treshold`: unknown key `jhyap_treshold`; did you mean `jhyap_threshold`?"),
        "{e}"
    );
    let e = err(&GOOD.replace("players = 2", "players = 2, jhyap_threshold = 99"));
    assert!(e.contains("must be an integer in 0..=65, found integer 99"), "{e}");
}

#[test]
fn out_of_range_and_mismatched_counts() {
    assert!(
        err(&GOOD.replace("rounds = 10", "rounds = 0")).contains("key `rounds`: must be in 1..=1000000000, found 0")
    );
    assert!(err(&GOOD.replace("players = 2", "players = 3")).contains("3 players but 2 [[seats]] entries"));
    assert!(err(&GOOD.replace("seeds = 3", "seeds = [1, -2]")).contains("key `seeds[1]`"));
    assert!(
        err(&GOOD.replace("kind = \"tournament\"", "kind = \"tournamnet\"")).contains("did you mean \"tournament\"?")
    );
    assert!(err("name = \"x\"\nkind = ").starts_with("s.toml:2:"));
    assert!(err("kind = \"tournament\"\n").contains("missing required key `name`"));
}

const SOLVE: &str = r#"
name = "k"
kind = "solve"
game = { name = "kuhn_poker" }
[solver]
algorithm = "cfr+"
iterations = 500
"#;

#[test]
fn solve_scenarios_validate_and_reject_tournament_keys() {
    let s = parse(Path::new("s.toml"), SOLVE).unwrap();
    let Plan::Solve(plan) = &s.plan else {
        panic!("a solve plan")
    };
    assert_eq!((plan.iterations, plan.eval_every, plan.game.players), (500, 5, 2));
    let e = err(&SOLVE.replace("iterations = 500", "iterations = 500\nevery = 3"));
    assert!(e.contains("key `solver.every`: unknown key `every`"), "{e}");
    assert!(e.contains("`eval_every`"), "{e}");
    let e = err(&SOLVE.replace("kind = \"solve\"", "kind = \"solve\"\nrounds = 5"));
    assert!(e.contains("`rounds` does not apply to kind = \"solve\""), "{e}");
    let e = err(&SOLVE.replace("\"cfr+\"", "\"cfr-plus\""));
    assert!(e.contains("unknown algorithm \"cfr-plus\""), "{e}");
    let e = err(&format!("{GOOD}\n[solver]\niterations = 3\n"));
    assert!(e.contains("`solver` does not apply to kind = \"tournament\""), "{e}");
}
