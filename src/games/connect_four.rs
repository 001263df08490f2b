//! Connect four (6 rows x 7 columns) with OpenSpiel's conventions: player 0 is `x` and
//! moves first, action `c` drops a disc into column `c`, returns +1/-1/0, and the
//! observation is OpenSpiel's 3 x 6 x 7 tensor (planes `x`, `o`, empty; row 0 at the
//! bottom). Positions are bitboards (7 bits per column, one sentinel), so a win test is
//! four shifts.

use crate::core::facts::GameFacts;
use crate::core::game::{Action, Game, State, Turn};
use crate::core::params::{GameSpec, ParamSpec};
use crate::core::rng::{SimRng, mix64};

/// Rows.
pub const ROWS: usize = 6;
/// Columns.
pub const COLS: usize = 7;
const COLUMN_BITS: usize = ROWS + 1;

/// The game (no parameters).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConnectFour;

/// A position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectFourState {
    /// Discs of each player, bit `col * 7 + row`.
    discs: [u64; 2],
    heights: [u8; COLS],
    current: usize,
    moves: u32,
    winner: Option<usize>,
}

impl GameFacts for ConnectFour {
    const NAME: &'static str = "connect_four";
    const HELP: &'static str = "connect four, 6x7 (OpenSpiel conventions); a perfect-information search benchmark";
    const RULE_SETS: &'static [&'static str] = &["standard"];
    const PLAYERS: (usize, usize) = (2, 2);
    const PARAMS: &'static [ParamSpec] = &[];

    fn from_spec(spec: &GameSpec) -> Result<Self, String> {
        Self::players_of(spec).map(|_| ConnectFour)
    }
}

impl Game for ConnectFour {
    type State = ConnectFourState;
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn num_players(&self) -> usize {
        2
    }
    fn num_distinct_actions(&self) -> usize {
        COLS
    }
    fn observation_len(&self) -> usize {
        3 * ROWS * COLS
    }
    fn new_initial_state(&self, _rng: &mut SimRng) -> ConnectFourState {
        ConnectFourState::new()
    }
    fn action_label(&self, action: Action) -> String {
        format!("column {action}")
    }
}

impl Default for ConnectFourState {
    fn default() -> Self {
        Self::new()
    }
}

fn has_four(b: u64) -> bool {
    // Vertical (1), horizontal (7), and the two diagonals (6, 8).
    [1u32, 7, 6, 8].iter().any(|d| {
        let m = b & (b >> d);
        m & (m >> (2 * d)) != 0
    })
}

impl ConnectFourState {
    /// The empty board, `x` to move.
    pub fn new() -> Self {
        ConnectFourState {
            discs: [0; 2],
            heights: [0; COLS],
            current: 0,
            moves: 0,
            winner: None,
        }
    }

    /// A position after playing `columns` in order from the empty board.
    pub fn from_moves(columns: &[Action]) -> Self {
        let mut s = Self::new();
        for c in columns {
            s.apply_action(*c);
        }
        s
    }

    /// Actions applied so far.
    pub fn moves(&self) -> u32 {
        self.moves
    }

    /// The winner, once there is one.
    pub fn winner(&self) -> Option<usize> {
        self.winner
    }

    /// The owner of the disc at (`row`, `col`), row 0 at the bottom.
    pub fn cell(&self, row: usize, col: usize) -> Option<usize> {
        let bit = 1u64 << (col * COLUMN_BITS + row);
        (0..2).find(|p| self.discs[*p] & bit != 0)
    }
}

impl State for ConnectFourState {
    fn turn(&self) -> Turn {
        if self.winner.is_some() || self.moves as usize == ROWS * COLS {
            Turn::Terminal
        } else {
            Turn::Player(self.current)
        }
    }
    fn legal_actions(&self) -> Vec<Action> {
        if self.is_terminal() {
            return Vec::new();
        }
        (0..COLS as u32)
            .filter(|c| (self.heights[*c as usize] as usize) < ROWS)
            .collect()
    }
    fn legal_actions_into(&self, out: &mut Vec<Action>) {
        out.clear();
        if !self.is_terminal() {
            out.extend((0..COLS as u32).filter(|c| (self.heights[*c as usize] as usize) < ROWS));
        }
    }
    fn is_legal(&self, action: Action) -> bool {
        !self.is_terminal() && (action as usize) < COLS && (self.heights[action as usize] as usize) < ROWS
    }
    fn apply_action(&mut self, action: Action) {
        assert!(self.is_legal(action), "illegal connect-four action {action}");
        let col = action as usize;
        let bit = 1u64 << (col * COLUMN_BITS + self.heights[col] as usize);
        self.discs[self.current] |= bit;
        self.heights[col] += 1;
        self.moves += 1;
        if has_four(self.discs[self.current]) {
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
    /// The board as six rows, top first, of `x` (player 0), `o` and `.`; actions are columns.
    fn observation_view(&self, player: usize) -> serde_json::Value {
        let rows: Vec<String> = (0..ROWS)
            .rev()
            .map(|row| {
                (0..COLS)
                    .map(|col| match self.cell(row, col) {
                        Some(0) => 'x',
                        Some(_) => 'o',
                        None => '.',
                    })
                    .collect()
            })
            .collect();
        serde_json::json!({ "player": player, "mark": if player == 0 { "x" } else { "o" }, "board": rows })
    }
    fn observation(&self, _player: usize, out: &mut [f32]) {
        out.fill(0.0);
        for row in 0..ROWS {
            for col in 0..COLS {
                let plane = self.cell(row, col).unwrap_or(2);
                out[plane * ROWS * COLS + row * COLS + col] = 1.0;
            }
        }
    }
    fn information_state_key(&self, _player: usize) -> u64 {
        // Perfect information: a hash of both bitboards identifies the position.
        mix64(self.discs[0] ^ mix64(self.discs[1] ^ 0xC4C4))
    }
}

crate::episodic_tournament!(ConnectFour);

#[cfg(test)]
mod tests {
    use super::*;

    fn perft(s: &ConnectFourState, depth: u32) -> u64 {
        if depth == 0 || s.is_terminal() {
            return 1;
        }
        s.legal_actions()
            .into_iter()
            .map(|a| {
                let mut c = s.clone();
                c.apply_action(a);
                perft(&c, depth - 1)
            })
            .sum()
    }

    #[test]
    fn perft_counts_match_the_published_values() {
        // Nobody can win before ply 7; the only lost branches by ply 7 are the 7 sequences
        // that fill one column in the first 6 plies (7^7 - 7 = 823,536, the known perft).
        assert_eq!(perft(&ConnectFourState::new(), 6), 7u64.pow(6));
        assert_eq!(perft(&ConnectFourState::new(), 7), 823_536);
    }

    #[test]
    fn wins_in_every_direction() {
        let vertical = ConnectFourState::from_moves(&[0, 1, 0, 1, 0, 1, 0]);
        assert_eq!(vertical.winner(), Some(0));
        let horizontal = ConnectFourState::from_moves(&[0, 0, 1, 1, 2, 2, 3]);
        assert_eq!(horizontal.winner(), Some(0));
        // Diagonal for o: o at (0,1),(1,2),(2,3),(3,4).
        let diagonal = ConnectFourState::from_moves(&[0, 1, 2, 2, 3, 3, 4, 3, 4, 4, 6, 4]);
        assert_eq!(diagonal.winner(), Some(1));
        // No wrap-around from the top of one column into the next.
        let no_wrap = ConnectFourState::from_moves(&[0, 0, 0, 0, 0, 1, 0, 1, 1]);
        assert_eq!(no_wrap.winner(), None);
    }

    #[test]
    fn full_columns_are_illegal_and_the_observation_matches_openspiel() {
        let s = ConnectFourState::from_moves(&[3, 3, 3, 3, 3, 3]);
        assert!(!s.legal_actions().contains(&3));
        let s = ConnectFourState::from_moves(&[3, 3]);
        let mut out = vec![0.0; 126];
        s.observation(0, &mut out);
        assert_eq!(out[3], 1.0, "x at bottom of column 3 on plane 0");
        assert_eq!(out[42 + 7 + 3], 1.0, "o above it on plane 1");
        assert_eq!(out[84..].iter().sum::<f32>(), 40.0);
    }
}
