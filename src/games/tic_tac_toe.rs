//! Tic-tac-toe with OpenSpiel's conventions: player 0 is `x` and moves first, action `c`
//! marks cell `c` (row-major 0..9), returns +1/-1/0, and the observation is OpenSpiel's
//! 3 x 9 one-hot tensor over cell states (empty, `o`, `x`).

use crate::core::facts::GameFacts;
use crate::core::game::{Action, Game, State, Turn};
use crate::core::params::{GameSpec, ParamSpec};
use crate::core::rng::SimRng;

const LINES: [[usize; 3]; 8] = [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
    [0, 3, 6],
    [1, 4, 7],
    [2, 5, 8],
    [0, 4, 8],
    [2, 4, 6],
];

/// The game (no parameters).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TicTacToe;

/// A position: cells hold 0 (empty), 1 (`x`, player 0) or 2 (`o`, player 1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TicTacToeState {
    board: [u8; 9],
    current: usize,
    moves: u32,
    winner: Option<usize>,
}

impl GameFacts for TicTacToe {
    const NAME: &'static str = "tic_tac_toe";
    const HELP: &'static str = "tic-tac-toe (OpenSpiel conventions); a perfect-information search benchmark";
    const RULE_SETS: &'static [&'static str] = &["standard"];
    const PLAYERS: (usize, usize) = (2, 2);
    const PARAMS: &'static [ParamSpec] = &[];

    fn from_spec(spec: &GameSpec) -> Result<Self, String> {
        Self::players_of(spec).map(|_| TicTacToe)
    }
}

impl Game for TicTacToe {
    type State = TicTacToeState;
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn num_players(&self) -> usize {
        2
    }
    fn num_distinct_actions(&self) -> usize {
        9
    }
    fn observation_len(&self) -> usize {
        27
    }
    fn new_initial_state(&self, _rng: &mut SimRng) -> TicTacToeState {
        TicTacToeState::new()
    }
    fn action_label(&self, action: Action) -> String {
        format!("cell({},{})", action / 3, action % 3)
    }
}

impl Default for TicTacToeState {
    fn default() -> Self {
        Self::new()
    }
}

impl TicTacToeState {
    /// The empty board, `x` to move.
    pub fn new() -> Self {
        TicTacToeState {
            board: [0; 9],
            current: 0,
            moves: 0,
            winner: None,
        }
    }

    /// A position from a 9-character string of `x`, `o` and `.` (row-major), with the side
    /// to move inferred from the counts. For tests and examples.
    pub fn from_board(text: &str) -> Self {
        let mut s = Self::new();
        for (i, ch) in text.chars().filter(|c| !c.is_whitespace()).enumerate().take(9) {
            s.board[i] = match ch {
                'x' => 1,
                'o' => 2,
                _ => 0,
            };
        }
        s.moves = s.board.iter().filter(|c| **c != 0).count() as u32;
        s.current = (s.moves % 2) as usize;
        s.winner = (0..2).find(|p| s.has_line(*p));
        s
    }

    fn has_line(&self, player: usize) -> bool {
        let mark = player as u8 + 1;
        LINES.iter().any(|l| l.iter().all(|c| self.board[*c] == mark))
    }

    /// Actions applied so far.
    pub fn moves(&self) -> u32 {
        self.moves
    }

    /// The winner, once there is one.
    pub fn winner(&self) -> Option<usize> {
        self.winner
    }
}

impl State for TicTacToeState {
    fn turn(&self) -> Turn {
        if self.winner.is_some() || self.moves == 9 {
            Turn::Terminal
        } else {
            Turn::Player(self.current)
        }
    }
    fn legal_actions(&self) -> Vec<Action> {
        if self.is_terminal() {
            return Vec::new();
        }
        (0..9).filter(|c| self.board[*c as usize] == 0).collect()
    }
    fn legal_actions_into(&self, out: &mut Vec<Action>) {
        out.clear();
        if !self.is_terminal() {
            out.extend((0..9).filter(|c| self.board[*c as usize] == 0));
        }
    }
    fn is_legal(&self, action: Action) -> bool {
        !self.is_terminal() && action < 9 && self.board[action as usize] == 0
    }
    fn apply_action(&mut self, action: Action) {
        assert!(self.is_legal(action), "illegal tic-tac-toe action {action}");
        self.board[action as usize] = self.current as u8 + 1;
        self.moves += 1;
        if self.has_line(self.current) {
            self.winner = Some(self.current);
        }
        self.current = 1 - self.current;
    }
    fn returns(&self) -> Vec<f64> {
        match self.winner {
            Some(0) => vec![1.0, -1.0],
            Some(_) => vec![-1.0, 1.0],
            None => vec![0.0, 0.0],
        }
    }
    /// The board as three rows of `x`, `o` and `.` (cell ids 0-8 row by row), whose turn.
    fn observation_view(&self, player: usize) -> serde_json::Value {
        let mark = |c: u8| match c {
            1 => 'x',
            2 => 'o',
            _ => '.',
        };
        let rows: Vec<String> = self
            .board
            .chunks(3)
            .map(|r| r.iter().map(|c| mark(*c)).collect())
            .collect();
        serde_json::json!({ "player": player, "mark": if player == 0 { "x" } else { "o" }, "board": rows })
    }
    fn observation(&self, _player: usize, out: &mut [f32]) {
        out.fill(0.0);
        for (cell, v) in self.board.iter().enumerate() {
            // OpenSpiel's plane order: empty, nought (o), cross (x).
            let plane = match v {
                0 => 0,
                2 => 1,
                _ => 2,
            };
            out[plane * 9 + cell] = 1.0;
        }
    }
    fn information_state_key(&self, _player: usize) -> u64 {
        // Perfect information: the board (base 3) identifies the state exactly.
        self.board.iter().fold(0u64, |k, c| k * 3 + u64::from(*c))
    }
}

crate::episodic_tournament!(TicTacToe);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn walk(s: &TicTacToeState, seen: &mut HashSet<TicTacToeState>, games: &mut u64) {
        seen.insert(s.clone());
        if s.is_terminal() {
            *games += 1;
            return;
        }
        for a in s.legal_actions() {
            let mut c = s.clone();
            c.apply_action(a);
            walk(&c, seen, games);
        }
    }

    #[test]
    fn known_counts_5478_positions_255168_games() {
        let mut seen = HashSet::new();
        let mut games = 0;
        walk(&TicTacToeState::new(), &mut seen, &mut games);
        assert_eq!(seen.len(), 5478);
        assert_eq!(games, 255_168);
    }

    #[test]
    fn lines_win_and_full_boards_draw() {
        let s = TicTacToeState::from_board("xxx oo. ...");
        assert_eq!(s.winner(), Some(0));
        assert_eq!(s.returns(), vec![1.0, -1.0]);
        let d = TicTacToeState::from_board("xox xoo oxx");
        assert!(d.is_terminal());
        assert_eq!(d.returns(), vec![0.0, 0.0]);
    }

    #[test]
    fn observation_matches_openspiel_planes() {
        let mut s = TicTacToeState::new();
        s.apply_action(4);
        let mut out = vec![0.0; 27];
        s.observation(0, &mut out);
        assert_eq!(out[4], 0.0);
        assert_eq!(out[18 + 4], 1.0, "x on plane 2");
        assert_eq!(out[..9].iter().sum::<f32>(), 8.0);
    }
}
