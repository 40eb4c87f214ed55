//! Coverage goals: `Context::sometimes(name, cond)` (Antithesis's "sometimes" assertion) and
//! `reachable(name)`, counted per run: how often each goal was evaluated and held, and where it
//! first held. A goal counts as declared once a run evaluates it.

use crate::node::NodeId;
use crate::time::SimTime;

/// One goal's tally in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Goal {
    /// What should sometimes happen, as the protocol names it.
    pub name: &'static str,
    /// Times a node evaluated it.
    pub checked: u64,
    /// Times it held.
    pub hits: u64,
    /// When and where it first held.
    pub first: Option<(SimTime, NodeId)>,
}

impl Goal {
    /// True when the goal held at least once.
    pub fn reached(&self) -> bool {
        self.hits > 0
    }
}

/// The goals of one run, in the order they were first evaluated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Goals {
    goals: Vec<Goal>,
}

impl Goals {
    /// Counts one evaluation of `name` at `time` on `node`; returns `cond`.
    pub fn record(&mut self, name: &'static str, cond: bool, time: SimTime, node: NodeId) -> bool {
        // A handful of goals, the same few names: a linear scan (pointer first) beats a map.
        let i = match self
            .goals
            .iter()
            .position(|g| std::ptr::eq(g.name, name) || g.name == name)
        {
            Some(i) => i,
            None => {
                self.goals.push(Goal {
                    name,
                    checked: 0,
                    hits: 0,
                    first: None,
                });
                self.goals.len() - 1
            }
        };
        let g = &mut self.goals[i];
        g.checked += 1;
        if cond {
            g.hits += 1;
            g.first.get_or_insert((time, node));
        }
        cond
    }

    /// Every goal evaluated, in order of first evaluation.
    pub fn all(&self) -> &[Goal] {
        &self.goals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_evaluations_and_hits_and_keeps_the_first_hit() {
        let mut g = Goals::default();
        assert!(!g.record("a", false, SimTime(1), NodeId(0)));
        assert!(g.record("b", true, SimTime(2), NodeId(1)));
        assert!(g.record("a", true, SimTime(3), NodeId(2)));
        assert!(g.record("a", true, SimTime(4), NodeId(0)));
        let names: Vec<&str> = g.all().iter().map(|x| x.name).collect();
        assert_eq!(names, ["a", "b"]);
        let a = &g.all()[0];
        assert_eq!(
            (a.checked, a.hits, a.first),
            (3, 2, Some((SimTime(3), NodeId(2))))
        );
        assert!(g.all()[1].reached());
        let mut never = Goals::default();
        never.record("c", false, SimTime(1), NodeId(0));
        assert!(!never.all()[0].reached());
    }
}
