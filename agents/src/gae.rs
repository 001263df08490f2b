//! Generalised advantage estimation (Schulman et al. 2016) over transitions laid out one
//! trajectory after another, each ending with `done = true`.

/// Advantages and returns (`advantage + value`) for every transition. A transition with
/// `done` has no successor, so its bootstrap value is 0; otherwise the next transition in
/// the slice is its successor.
pub fn gae(rewards: &[f32], values: &[f32], dones: &[bool], gamma: f32, lambda: f32) -> (Vec<f32>, Vec<f32>) {
    let n = rewards.len();
    let mut advantages = vec![0.0f32; n];
    let mut running = 0.0f32;
    for t in (0..n).rev() {
        let (next_value, carry) = if dones[t] || t + 1 == n {
            (0.0, 0.0)
        } else {
            (values[t + 1], running)
        };
        let delta = rewards[t] + gamma * next_value - values[t];
        running = delta + gamma * lambda * carry;
        advantages[t] = running;
    }
    let returns = advantages.iter().zip(values).map(|(a, v)| a + v).collect();
    (advantages, returns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn matches_a_hand_computation() {
        // One trajectory of three steps, gamma 0.9, lambda 0.8:
        // delta2 = 1 - 0.5 = 0.5;            A2 = 0.5
        // delta1 = 0 + 0.9*0.5 - 0.4 = 0.05;  A1 = 0.05 + 0.72*0.5 = 0.41
        // delta0 = 0 + 0.9*0.4 - 0.3 = 0.06;  A0 = 0.06 + 0.72*0.41 = 0.3552
        let (adv, ret) = gae(&[0.0, 0.0, 1.0], &[0.3, 0.4, 0.5], &[false, false, true], 0.9, 0.8);
        close(&adv, &[0.3552, 0.41, 0.5]);
        close(&ret, &[0.6552, 0.81, 1.0]);
    }

    #[test]
    fn trajectories_do_not_leak_into_each_other() {
        let (a, _) = gae(&[1.0, 2.0], &[0.0, 0.0], &[true, true], 0.99, 0.95);
        close(&a, &[1.0, 2.0]);
        // lambda = 1, gamma = 1: advantages are reward-to-go minus value.
        let (a, _) = gae(&[1.0, 1.0, 1.0], &[0.0, 0.0, 0.0], &[false, false, true], 1.0, 1.0);
        close(&a, &[3.0, 2.0, 1.0]);
    }
}
