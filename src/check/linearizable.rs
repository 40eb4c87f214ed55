//! Linearizability of a run's key-value history: its calls read as `lin::models::RegisterModel`
//! operations (one cas-register per key, as linearizability is compositional) and searched by
//! `lin::search` (Wing-Gong-Lowe with Porcupine's memoisation).
//!
//! `ok` operations must take effect between invoke and completion, `fail` ones are dropped
//! (they certainly did not take effect) except a cas whose compare failed (`Op::CasFailed`),
//! which observed that the key held another value, and `info` or never-completed writes may take effect at
//! any point after their invoke or never (the search may leave them unlinearized). Reads with an
//! unknown result constrain nothing and are dropped.
//!
//! The search is bounded by a step budget (never wall time): past it the verdict is `Unknown`
//! with the reason. A failing key is explained by the smallest window of operations that cannot
//! be linearized: the shortest failing prefix, then the latest start that still fails from any
//! value the register could hold at that point.

use super::Verdict;
use crate::history::{Call, History, Op, Phase};
use crate::lin::models::{RegOp, RegisterModel};
use crate::lin::{check_partitions_within, LinOp};
use crate::sim::RunOutcome;
use std::collections::BTreeMap;

const NAME: &str = "Linearizable";

/// Search steps allowed across all keys before the checker answers `Unknown`.
pub const DEFAULT_MAX_STEPS: u64 = crate::lin::DEFAULT_MAX_STEPS;

/// What the linearizability search concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinResult {
    /// Every key has a legal linearization.
    Linearizable {
        /// Operations checked.
        ops: usize,
        /// Keys checked.
        keys: usize,
        /// Search steps used.
        steps: u64,
    },
    /// Some key has none.
    NotLinearizable {
        /// The key.
        key: u64,
        /// The smallest window of calls (indices into `History::calls()`) that cannot be linearized.
        window: Vec<usize>,
        /// Where a search of the window got furthest (calls as indices into `History::calls()`).
        stuck: Option<crate::lin::Stuck>,
    },
    /// The budget ran out before the search could decide.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// Checks a history for linearizability with the default step budget.
pub fn check_history(history: &History) -> LinResult {
    check_history_bounded(history, DEFAULT_MAX_STEPS)
}

/// Checks a history for linearizability, giving up after `max_steps` search steps.
pub fn check_history_bounded(history: &History, max_steps: u64) -> LinResult {
    let calls = history.calls();
    check_calls(&calls, max_steps, u64::MAX, crate::memory::DEFAULT_BUDGET)
}

/// Bytes the search may hold after a run: its budget less what the run held at its peak.
fn search_memory(outcome: &RunOutcome) -> u64 {
    outcome
        .bounds
        .max_memory
        .0
        .saturating_sub(outcome.memory.total())
}

/// The reason given when the search would outgrow the run's memory budget.
fn over_budget(budget: crate::memory::Bytes) -> String {
    format!(
        "the search would hold more than the run's memory budget ({budget}, bounds.max_memory); \
         raise it or shorten the run"
    )
}

/// A partition key that sorts as the number does.
fn key_text(key: u64) -> String {
    format!("{key:020}")
}

/// The key-value calls as register operations, one partition per key (the model's view of
/// `Op`s: ok calls must take effect, failed ones are dropped, info writes may or may not).
fn partition(calls: &[Call]) -> BTreeMap<String, Vec<LinOp<RegOp>>> {
    let mut keys: BTreeMap<String, Vec<LinOp<RegOp>>> = BTreeMap::new();
    for (origin, c) in calls.iter().enumerate() {
        let ret = match (c.outcome, &c.completed) {
            (Phase::Ok, _) | (Phase::Fail, Op::CasFailed { .. }) => c.complete_index,
            (Phase::Info, _) => None,
            _ => continue,
        };
        let (key, op) = match (&c.invoked, &c.completed) {
            (Op::Cas { .. }, Op::CasFailed { key, from, .. }) => (*key, RegOp::CasFailed(*from)),
            (Op::Put { key, value }, _) => (*key, RegOp::Write(*value)),
            (Op::Cas { key, from, to }, _) => (*key, RegOp::Cas(*from, *to)),
            (Op::Get { key, .. }, Op::Get { value, .. }) if ret.is_some() => {
                (*key, RegOp::Read(*value))
            }
            _ => continue,
        };
        keys.entry(key_text(key)).or_default().push(LinOp {
            op,
            call: c.invoke_index,
            ret,
            origin,
        });
    }
    keys
}

/// Checks `calls` within `max_steps` search steps and `max_bytes` of search memory (what is
/// left of `budget` after the run).
fn check_calls(
    calls: &[Call],
    max_steps: u64,
    max_bytes: u64,
    budget: crate::memory::Bytes,
) -> LinResult {
    let model = RegisterModel::kv(None);
    let parts = partition(calls);
    let ops = parts.values().map(Vec::len).sum();
    let checked = check_partitions_within(&model, parts, max_steps, max_bytes);
    if checked.out_of_memory && checked.failing_key().is_none() {
        return LinResult::Unknown {
            reason: over_budget(budget),
        };
    }
    if let Some(key) = checked.failing_key() {
        let key = key.parse().unwrap_or_default();
        let (window, stuck) = checked.window_explained(&model, max_steps);
        return LinResult::NotLinearizable { key, window, stuck };
    }
    if let Some(p) = checked.undecided() {
        return LinResult::Unknown {
            reason: format!(
                "search gave up on key k{} ({} operations) after {max_steps} steps; raise the budget or shorten the run",
                p.key.parse::<u64>().unwrap_or_default(),
                p.ops
            ),
        };
    }
    LinResult::Linearizable {
        ops,
        keys: checked.partitions.len(),
        steps: checked.steps,
    }
}

/// For each call of `window` that reads or expects a value written by a call outside it, that
/// writing call (an index into `calls`) and the window position of the call that needs it.
fn before_window_writes(calls: &[Call], window: &[usize]) -> Vec<(usize, usize)> {
    let wrote = |c: &Call, key: u64, value: u64| match c.completed {
        Op::Put { key: k, value: v } => k == key && v == value,
        Op::Cas { key: k, to, .. } => k == key && to == value,
        _ => false,
    };
    let mut found = Vec::new();
    for (pos, &w) in window.iter().enumerate() {
        let (key, value) = match calls[w].completed {
            Op::Get {
                key,
                value: Some(v),
            } => (key, v),
            Op::Cas {
                key, from: Some(v), ..
            }
            | Op::CasFailed {
                key, from: Some(v), ..
            } => (key, v),
            _ => continue,
        };
        if window.iter().any(|&o| wrote(&calls[o], key, value)) {
            continue;
        }
        if let Some(i) = calls.iter().position(|c| wrote(c, key, value)) {
            if !found.iter().any(|&(f, _)| f == i) {
                found.push((i, pos));
            }
        }
    }
    found
}

/// Checks the run's key-value history for linearizability.
pub fn check_linearizable(outcome: &RunOutcome) -> Verdict {
    let calls = outcome.history.calls();
    let budget = outcome.bounds.max_memory;
    match check_calls(&calls, DEFAULT_MAX_STEPS, search_memory(outcome), budget) {
        LinResult::Linearizable { ops, keys, steps } => {
            if ops == 0 {
                return Verdict::unknown(NAME, "the history has no key-value operations to check");
            }
            Verdict::pass(
                NAME,
                format!("{ops} operations on {keys} keys are linearizable ({steps} search steps)"),
            )
        }
        LinResult::Unknown { reason } => Verdict::unknown(NAME, reason),
        LinResult::NotLinearizable { key, window, stuck } => {
            let mut v = Verdict::fail(
                NAME,
                format!(
                    "key k{key} has no linearization; these {} operations cannot be ordered",
                    window.len()
                ),
            );
            let describe = |c: &Call| {
                let end = c
                    .complete_time
                    .map_or_else(|| "never".to_string(), |t| t.to_string());
                format!(
                    "{}: {} [{} .. {}] {:?}",
                    outcome.roster.name(c.node),
                    c.completed,
                    c.invoke_time,
                    end,
                    c.outcome
                )
            };
            let mut entries = Vec::new();
            for &i in &window {
                let c = &calls[i];
                v = v.detail(describe(c));
                entries.push(c.invoke_index);
                entries.extend(c.complete_index);
            }
            // The window opens in whatever state the calls before it left, so a value it
            // reads or expects may come from a write outside it: name that write too.
            for (i, value) in before_window_writes(&calls, &window) {
                let why = match &calls[window[value]].completed {
                    Op::Get { .. } => "the value the read returned",
                    _ => "the value the cas expected",
                };
                v = v.detail(format!(
                    "  before the window: {} ({why})",
                    describe(&calls[i])
                ));
            }
            if let Some(stuck) = stuck {
                for line in crate::lin::explain_lines(&stuck, "register", |i| describe(&calls[i])) {
                    v = v.detail(line);
                }
                v = v.explained(crate::check::Explanation {
                    order: stuck.order.iter().map(|&i| calls[i].invoke_index).collect(),
                    blocked: calls[stuck.blocked].invoke_index,
                    state: stuck.state,
                });
            }
            v.culprits(outcome, entries)
        }
    }
}

/// Every operation takes effect atomically between its invoke and completion: by default the
/// key-value calls (`Put`, `Get`, `Cas`) as cas-registers per key; with `model`, any history
/// checked against that `lin` model (`Linearizable(model: "list-append")`), read exactly as
/// `check-history` reads the run's `--history` file.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Linearizable {
    /// A `lin` model by name: a shipped one (`lin::models::NAMES`: register, cas-register, kv,
    /// list-append, set, counter, fifo-queue, mutex, multi-register) or one the program
    /// registered (`Registry::model`); none: the run's key-value calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The model's builder, from the program's registry when the scenario was loaded.
    #[serde(skip)]
    build: Option<crate::lin::named::BuildModel>,
}

impl Linearizable {
    /// The check against the `lin` model called `name` (shipped, or resolved against a
    /// registry when a scenario names it).
    pub fn with_model(name: &str) -> Self {
        Linearizable {
            model: Some(name.to_string()),
            build: crate::lin::Models::shipped().builder(name),
        }
    }
}

// Equal when they name the same model (the builder follows from the name and the program).
impl PartialEq for Linearizable {
    fn eq(&self, other: &Self) -> bool {
        self.model == other.model
    }
}

impl Eq for Linearizable {}

impl crate::protocol::Check for Linearizable {
    const NAME: &'static str = "Linearizable";

    fn property(&self) -> crate::protocol::Property {
        crate::protocol::Property::Safety
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        match &self.model {
            None => check_linearizable(outcome),
            Some(model) => {
                let build = self
                    .build
                    .or_else(|| crate::lin::Models::shipped().builder(model));
                match build {
                    Some(build) => check_with_model(outcome, model, build),
                    None => Verdict::unknown(NAME, format!("unknown model `{model}`")),
                }
            }
        }
    }

    fn resolve_models(&mut self, models: &crate::lin::Models) -> Result<(), String> {
        let Some(name) = &self.model else {
            return Ok(());
        };
        match models.builder(name) {
            Some(build) => {
                self.build = Some(build);
                Ok(())
            }
            None => Err(format!(
                "unknown model `{name}`; valid models: {}",
                models.names().join(", ")
            )),
        }
    }
}

/// The run's history against the `lin` model called `model`, built by `build`.
fn check_with_model(
    outcome: &RunOutcome,
    model: &str,
    build: crate::lin::named::BuildModel,
) -> Verdict {
    use crate::lin::formats;
    let ops = formats::from_history(&outcome.history, outcome.roster.names());
    let max_bytes = search_memory(outcome);
    let built = match build(None) {
        Ok(m) => m,
        Err(e) => return Verdict::unknown(NAME, format!("model {model}: {e}")),
    };
    let judged = match built.judge(&ops, DEFAULT_MAX_STEPS, max_bytes) {
        Ok(j) => j,
        Err(e) => return Verdict::unknown(NAME, format!("model {model}: {}", e.at(&ops))),
    };
    if judged.out_of_memory && judged.failing.is_none() {
        return Verdict::unknown(NAME, over_budget(outcome.bounds.max_memory));
    }
    if let Some(key) = &judged.failing {
        let (window, stuck) = built
            .failing_window_after(&ops, key, judged.frontier, DEFAULT_MAX_STEPS, max_bytes)
            .map(|w| (w.ops, w.stuck))
            .unwrap_or_default();
        let key = if key.is_empty() {
            String::new()
        } else {
            format!("key {key} ")
        };
        let mut v = Verdict::fail(
            NAME,
            format!(
                "{key}has no linearization as a {model}; these {} operations cannot be ordered",
                window.len()
            ),
        );
        let mut entries = Vec::new();
        for i in window {
            v = v.detail(ops[i].describe());
            entries.push(ops[i].call);
            entries.extend(ops[i].ret);
        }
        if let Some(stuck) = stuck {
            for line in crate::lin::explain_lines(&stuck, model, |i| ops[i].describe()) {
                v = v.detail(line);
            }
            v = v.explained(crate::check::Explanation {
                order: stuck.order.iter().map(|&i| ops[i].call).collect(),
                blocked: ops[stuck.blocked].call,
                state: stuck.state,
            });
        }
        return v.culprits(outcome, entries);
    }
    if let Some(p) = judged.undecided() {
        return Verdict::unknown(
            NAME,
            format!(
                "search gave up on {} ({} operations) after {DEFAULT_MAX_STEPS} steps",
                if p.key.is_empty() {
                    "the history".into()
                } else {
                    format!("key {}", p.key)
                },
                p.ops
            ),
        );
    }
    if judged.ops() == 0 {
        return Verdict::unknown(
            NAME,
            format!("the history has no {model} operations to check"),
        );
    }
    Verdict::pass(
        NAME,
        format!(
            "{} operations are linearizable as a {model} ({} search steps)",
            judged.ops(),
            judged.steps
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::NodeId;
    use crate::time::SimTime;

    /// Builds histories from a script of (time, client, action) lines.
    struct Script {
        h: History,
        open: BTreeMap<u32, crate::history::OpId>,
    }

    impl Script {
        fn new() -> Self {
            Script {
                h: History::new(),
                open: BTreeMap::new(),
            }
        }
        fn call(mut self, t: u64, c: u32, op: Op) -> Self {
            let id = self.h.invoke(SimTime(t), NodeId(c), op);
            self.open.insert(c, id);
            self
        }
        fn ok(mut self, t: u64, c: u32, op: Op) -> Self {
            let id = self.open.remove(&c).expect("open call");
            self.h.ok(SimTime(t), NodeId(c), id, op);
            self
        }
        fn fail(mut self, t: u64, c: u32, op: Op) -> Self {
            let id = self.open.remove(&c).expect("open call");
            self.h.fail(SimTime(t), NodeId(c), id, op);
            self
        }
        fn info(mut self, t: u64, c: u32, op: Op) -> Self {
            let id = self.open.remove(&c).expect("open call");
            self.h.info(SimTime(t), NodeId(c), id, op);
            self
        }
        fn verdict(&self) -> LinResult {
            check_history(&self.h)
        }
    }

    fn put(key: u64, value: u64) -> Op {
        Op::Put { key, value }
    }
    fn get(key: u64, value: Option<u64>) -> Op {
        Op::Get { key, value }
    }
    fn cas(key: u64, from: Option<u64>, to: u64) -> Op {
        Op::Cas { key, from, to }
    }

    fn is_lin(r: &LinResult) -> bool {
        matches!(r, LinResult::Linearizable { .. })
    }

    // ---- linearizable histories ----

    #[test]
    fn sequential_put_then_get_is_linearizable() {
        let s = Script::new()
            .call(1, 0, put(0, 1))
            .ok(2, 0, put(0, 1))
            .call(3, 1, get(0, None))
            .ok(4, 1, get(0, Some(1)));
        assert!(is_lin(&s.verdict()));
    }

    #[test]
    fn concurrent_read_may_see_old_or_new_value() {
        // The read overlaps the write, so either value is fine; here it sees the old (absent).
        let s = Script::new()
            .call(1, 0, put(0, 1))
            .call(2, 1, get(0, None))
            .ok(3, 1, get(0, None))
            .ok(4, 0, put(0, 1))
            .call(5, 1, get(0, None))
            .ok(6, 1, get(0, Some(1)));
        assert!(is_lin(&s.verdict()));
    }

    #[test]
    fn concurrent_writes_can_be_ordered_by_later_reads() {
        let s = Script::new()
            .call(1, 0, put(0, 1))
            .call(1, 1, put(0, 2))
            .ok(3, 1, put(0, 2))
            .ok(4, 0, put(0, 1))
            .call(5, 2, get(0, None))
            .ok(6, 2, get(0, Some(2)));
        assert!(is_lin(&s.verdict()));
    }

    #[test]
    fn indeterminate_write_may_take_effect_late() {
        // The write timed out (info) but a read long after sees it: it took effect late.
        let s = Script::new()
            .call(1, 0, put(0, 7))
            .info(5, 0, put(0, 7))
            .call(6, 1, get(0, None))
            .ok(7, 1, get(0, None))
            .call(8, 1, get(0, None))
            .ok(9, 1, get(0, Some(7)));
        assert!(is_lin(&s.verdict()));
    }

    #[test]
    fn indeterminate_write_may_never_take_effect() {
        let s = Script::new()
            .call(1, 0, put(0, 1))
            .ok(2, 0, put(0, 1))
            .call(3, 0, put(0, 2))
            .info(4, 0, put(0, 2))
            .call(5, 1, get(0, None))
            .ok(6, 1, get(0, Some(1)));
        assert!(is_lin(&s.verdict()));
    }

    #[test]
    fn cas_chain_and_failed_ops_are_linearizable() {
        let s = Script::new()
            .call(1, 0, put(0, 1))
            .ok(2, 0, put(0, 1))
            .call(3, 1, cas(0, Some(1), 2))
            .call(3, 2, cas(0, Some(1), 3))
            .ok(5, 1, cas(0, Some(1), 2))
            .fail(6, 2, cas(0, Some(1), 3))
            .call(7, 0, get(0, None))
            .ok(8, 0, get(0, Some(2)));
        assert!(is_lin(&s.verdict()));
    }

    #[test]
    fn keys_are_independent() {
        let s = Script::new()
            .call(1, 0, put(0, 1))
            .call(1, 1, put(1, 2))
            .ok(2, 0, put(0, 1))
            .ok(2, 1, put(1, 2))
            .call(3, 0, get(1, None))
            .call(3, 1, get(0, None))
            .ok(4, 0, get(1, Some(2)))
            .ok(4, 1, get(0, Some(1)));
        assert!(is_lin(&s.verdict()));
    }

    #[test]
    fn never_completed_cas_may_explain_a_read() {
        let s = Script::new()
            .call(1, 0, put(0, 1))
            .ok(2, 0, put(0, 1))
            .call(3, 1, cas(0, Some(1), 5))
            .call(4, 2, get(0, None))
            .ok(5, 2, get(0, Some(5)));
        assert!(is_lin(&s.verdict()));
    }

    // ---- non-linearizable histories ----

    fn window_len(r: &LinResult) -> usize {
        match r {
            LinResult::NotLinearizable { window, .. } => window.len(),
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    #[test]
    fn stale_read_after_acknowledged_write_is_caught() {
        let s = Script::new()
            .call(1, 0, put(0, 1))
            .ok(2, 0, put(0, 1))
            .call(3, 0, put(0, 2))
            .ok(4, 0, put(0, 2))
            .call(5, 1, get(0, None))
            .ok(6, 1, get(0, Some(1)));
        // The window is the overwrite and the stale read; the first put is outside it.
        assert_eq!(window_len(&s.verdict()), 2);
    }

    #[test]
    fn read_of_a_value_never_written_is_caught() {
        let s = Script::new()
            .call(1, 0, get(0, None))
            .ok(2, 0, get(0, Some(9)));
        assert_eq!(window_len(&s.verdict()), 1);
    }

    #[test]
    fn lost_acknowledged_write_is_caught() {
        let s = Script::new()
            .call(1, 0, put(3, 1))
            .ok(2, 0, put(3, 1))
            .call(10, 1, get(3, None))
            .ok(11, 1, get(3, None));
        assert_eq!(window_len(&s.verdict()), 2);
    }

    #[test]
    fn reads_going_back_in_time_are_caught() {
        // Two reads concurrent with a write, but the later read sees the older value.
        let s = Script::new()
            .call(1, 0, put(0, 1))
            .call(2, 1, get(0, None))
            .ok(3, 1, get(0, Some(1)))
            .call(4, 2, get(0, None))
            .ok(5, 2, get(0, None))
            .ok(6, 0, put(0, 1));
        assert!(matches!(
            s.verdict(),
            LinResult::NotLinearizable { key: 0, .. }
        ));
    }

    #[test]
    fn a_failed_compare_is_an_observation_and_a_refused_cas_is_not() {
        let mismatch = Op::CasFailed {
            key: 0,
            from: Some(1),
            to: 2,
        };
        // put 1, then cas(1 -> 2) reports that the key did not hold 1, then a read sees 1.
        let observed = Script::new()
            .call(1, 0, put(0, 1))
            .ok(2, 0, put(0, 1))
            .call(3, 1, cas(0, Some(1), 2))
            .fail(4, 1, mismatch.clone())
            .call(5, 2, get(0, None))
            .ok(6, 2, get(0, Some(1)));
        assert!(matches!(
            observed.verdict(),
            LinResult::NotLinearizable { key: 0, .. }
        ));
        // The same cas refused for another reason (no leader) did nothing and saw nothing.
        let refused = Script::new()
            .call(1, 0, put(0, 1))
            .ok(2, 0, put(0, 1))
            .call(3, 1, cas(0, Some(1), 2))
            .fail(4, 1, cas(0, Some(1), 2))
            .call(5, 2, get(0, None))
            .ok(6, 2, get(0, Some(1)));
        assert!(is_lin(&refused.verdict()));
        // A mismatch while another value was held is fine.
        let fine = Script::new()
            .call(1, 0, put(0, 3))
            .ok(2, 0, put(0, 3))
            .call(3, 1, cas(0, Some(1), 2))
            .fail(4, 1, mismatch)
            .call(5, 2, get(0, None))
            .ok(6, 2, get(0, Some(3)));
        assert!(is_lin(&fine.verdict()));
    }

    #[test]
    fn two_successful_cas_from_the_same_value_are_caught() {
        let s = Script::new()
            .call(1, 0, put(0, 1))
            .ok(2, 0, put(0, 1))
            .call(3, 1, cas(0, Some(1), 2))
            .call(3, 2, cas(0, Some(1), 3))
            .ok(4, 1, cas(0, Some(1), 2))
            .ok(4, 2, cas(0, Some(1), 3));
        assert!(matches!(s.verdict(), LinResult::NotLinearizable { .. }));
    }

    #[test]
    fn failed_write_that_shows_up_is_caught() {
        // `fail` means certainly not applied, so reading its value is a violation.
        let s = Script::new()
            .call(1, 0, put(0, 4))
            .fail(2, 0, put(0, 4))
            .call(3, 1, get(0, None))
            .ok(4, 1, get(0, Some(4)));
        assert!(matches!(s.verdict(), LinResult::NotLinearizable { .. }));
    }

    #[test]
    fn indeterminate_write_cannot_take_effect_before_its_invoke() {
        let s = Script::new()
            .call(1, 1, get(0, None))
            .ok(2, 1, get(0, Some(5)))
            .call(3, 0, put(0, 5))
            .info(4, 0, put(0, 5));
        assert!(matches!(s.verdict(), LinResult::NotLinearizable { .. }));
    }

    #[test]
    fn violation_on_one_key_is_reported_with_that_key() {
        let s = Script::new()
            .call(1, 0, put(0, 1))
            .ok(2, 0, put(0, 1))
            .call(1, 1, put(1, 2))
            .ok(2, 1, put(1, 2))
            .call(3, 1, get(1, None))
            .ok(4, 1, get(1, None))
            .call(3, 0, get(0, None))
            .ok(4, 0, get(0, Some(1)));
        assert!(matches!(
            s.verdict(),
            LinResult::NotLinearizable { key: 1, .. }
        ));
    }

    #[test]
    fn tiny_budget_gives_unknown_not_a_guess() {
        let mut s = Script::new();
        for i in 0..50u64 {
            s = s.call(i * 10, i as u32, put(0, i));
        }
        for i in 0..50u64 {
            s = s.ok(1000 + i, i as u32, put(0, i));
            s = s.call(1000 + i, i as u32 + 100, get(0, None));
            s = s.ok(2000 + i, i as u32 + 100, get(0, Some(i)));
        }
        assert!(matches!(
            check_history_bounded(&s.h, 10),
            LinResult::Unknown { .. }
        ));
    }

    // ---- cross-check against brute force on small random histories ----

    /// Tries every order of the operations that respects real time, with indeterminate
    /// writes placed anywhere or left out.
    fn brute_force(ops: &[LinOp<RegOp>]) -> bool {
        use crate::lin::Model;
        fn go(ops: &[LinOp<RegOp>], used: &mut Vec<bool>, state: Option<u64>) -> bool {
            let required_left = ops
                .iter()
                .zip(used.iter())
                .any(|(o, u)| o.ret.is_some() && !u);
            if !required_left {
                return true;
            }
            for i in 0..ops.len() {
                if used[i] {
                    continue;
                }
                // Every required op that returned before this one was called must come first.
                let blocked = ops
                    .iter()
                    .zip(used.iter())
                    .any(|(a, u)| !u && a.ret.is_some_and(|r| r < ops[i].call));
                if blocked {
                    continue;
                }
                if let Some(next) = RegisterModel::kv(None).step(&state, &ops[i].op) {
                    used[i] = true;
                    if go(ops, used, next) {
                        return true;
                    }
                    used[i] = false;
                }
            }
            false
        }
        go(ops, &mut vec![false; ops.len()], None)
    }

    fn random_history(seed: u64) -> History {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let n = rng.random_range(1..=7u64);
        // (time, order, client, phase 0 invoke / 1 ok / 2 info / 3 fail, op)
        let mut events: Vec<(u64, u64, u32, u8, Op)> = Vec::new();
        for i in 0..n {
            let value = |rng: &mut rand_chacha::ChaCha8Rng| {
                let v = rng.random_range(0..=n);
                (v > 0).then_some(v)
            };
            let op = match rng.random_range(0..3) {
                0 => Op::Put {
                    key: 0,
                    value: i + 1,
                },
                1 => Op::Get {
                    key: 0,
                    value: value(&mut rng),
                },
                _ => Op::Cas {
                    key: 0,
                    from: value(&mut rng),
                    to: i + 1,
                },
            };
            let call = rng.random_range(0..20u64);
            let ret = call + rng.random_range(1..10u64);
            let end = match rng.random_range(0..10) {
                0 => 2,
                1 => 3,
                _ => 1,
            };
            events.push((call, 0, i as u32, 0, op.clone()));
            events.push((ret, 1, i as u32, end, op));
        }
        events.sort_by_key(|e| (e.0, e.1, e.2));
        let mut h = History::new();
        let mut ids = BTreeMap::new();
        for (t, _, c, phase, op) in events {
            let (t, node) = (SimTime(t), NodeId(c));
            match phase {
                0 => {
                    ids.insert(c, h.invoke(t, node, op));
                }
                1 => h.ok(t, node, ids[&c], op),
                2 => h.info(t, node, ids[&c], op),
                _ => h.fail(t, node, ids[&c], op),
            }
        }
        h
    }

    #[test]
    fn search_agrees_with_brute_force_on_random_small_histories() {
        let (mut yes, mut no) = (0, 0);
        for seed in 0..2_000u64 {
            let h = random_history(seed);
            let ops = partition(&h.calls())
                .remove(&key_text(0))
                .unwrap_or_default();
            let expected = brute_force(&ops);
            let got = check_history(&h);
            assert_eq!(
                matches!(got, LinResult::Linearizable { .. }),
                expected,
                "seed {seed}: {got:?} for {:?}",
                h.entries().collect::<Vec<_>>()
            );
            if expected {
                yes += 1;
            } else {
                no += 1;
            }
        }
        // Both kinds occur, so the agreement means something.
        assert!(yes > 100 && no > 100, "{yes} linearizable, {no} not");
    }

    /// Seeds 0..2,000 of `random_history`: each seed, its key's operations, and how a search of
    /// them from the start ended and where it got stuck.
    fn searched_random_histories(
    ) -> impl Iterator<Item = (u64, Vec<LinOp<RegOp>>, crate::lin::search::Searched, usize)> {
        use crate::lin::Model;
        let model = RegisterModel::kv(None);
        (0..2_000u64).map(move |seed| {
            let ops = partition(&random_history(seed).calls())
                .remove(&key_text(0))
                .unwrap_or_default();
            let (searched, frontier) = crate::lin::search::search_frontier(
                &model,
                &ops,
                model.init(),
                &mut u64::MAX.clone(),
                u64::MAX,
            );
            (seed, ops, searched, frontier)
        })
    }

    /// The explanation of a failure (Porcupine's partial linearization), held to the model and
    /// to the search's frontier on random small histories: its order replays through the model
    /// from the start in an order real time allows, it holds every operation that returned
    /// before the one it stops at, that one returns at the frontier (the shortest failing
    /// prefix ends there, brute force agreeing), and `fits` says truly whether the model would
    /// take it after the order.
    #[test]
    fn the_explanation_is_a_real_partial_linearization_up_to_the_frontier() {
        use crate::lin::search::{explain, Searched};
        use crate::lin::Model;
        let model = RegisterModel::kv(None);
        let mut explained = 0;
        for (seed, ops, searched, frontier) in searched_random_histories() {
            if searched != Searched::Decided(false) {
                assert!(
                    explain(&model, &ops, &[model.init()], u64::MAX, &|s| format!(
                        "{s:?}"
                    ))
                    .is_none(),
                    "seed {seed}: a linearizable history explained"
                );
                continue;
            }
            let stuck = explain(&model, &ops, &[model.init()], u64::MAX, &|s| {
                format!("{s:?}")
            })
            .unwrap_or_else(|| panic!("seed {seed}: a failure not explained"));
            explained += 1;
            let op = |origin: usize| ops.iter().find(|o| o.origin == origin).unwrap();
            let mut state = model.init();
            for (p, &a) in stuck.order.iter().enumerate() {
                state = model
                    .step(&state, &op(a).op)
                    .unwrap_or_else(|| panic!("seed {seed}: the order does not replay"));
                for &b in &stuck.order[p + 1..] {
                    assert!(
                        op(b).ret.is_none_or(|r| r > op(a).call),
                        "seed {seed}: the order puts an operation after one that began after it returned"
                    );
                }
            }
            assert_eq!(stuck.state, format!("{state:?}"), "seed {seed}");
            let blocked = op(stuck.blocked);
            assert!(!stuck.order.contains(&stuck.blocked), "seed {seed}");
            assert_eq!(blocked.ret, Some(frontier), "seed {seed}");
            for o in &ops {
                if o.ret.is_some_and(|r| r < frontier) {
                    assert!(stuck.order.contains(&o.origin), "seed {seed}");
                }
            }
            assert_eq!(
                stuck.fits,
                model.step(&state, &blocked.op).is_some(),
                "seed {seed}"
            );
        }
        assert!(explained > 100, "{explained} failures explained");
    }

    #[test]
    fn the_verdicts_frontier_is_the_shortest_failing_prefix_and_the_window_fails() {
        use crate::lin::search::{failing_window_after, Searched};
        let model = RegisterModel::kv(None);
        let truncate =
            |ops: &[LinOp<RegOp>], cut: usize| crate::lin::search::truncate(&model, ops, cut);
        let mut failing = 0;
        for (seed, ops, searched, frontier) in searched_random_histories() {
            if searched != Searched::Decided(false) {
                continue;
            }
            failing += 1;
            // The prefix through the frontier's return fails; the one before it does not.
            assert!(!brute_force(&truncate(&ops, frontier)), "seed {seed}");
            let earlier = ops
                .iter()
                .filter_map(|o| o.ret)
                .filter(|&r| r < frontier)
                .max();
            if let Some(cut) = earlier {
                assert!(brute_force(&truncate(&ops, cut)), "seed {seed}");
            }
            // The window, narrowed from the verdict's frontier.
            let w = failing_window_after(&model, &ops, Some(frontier), u64::MAX, u64::MAX);
            let window: Vec<LinOp<RegOp>> = w.ops.clone();
            assert!(w.smallest, "seed {seed}");
            assert!(
                !window.is_empty() && window.len() <= ops.len(),
                "seed {seed}"
            );
            // Given the frontier or searching for it, the narrowing ends at the same window.
            let same = failing_window_after(&model, &ops, None, u64::MAX, u64::MAX);
            assert_eq!(
                same.ops.iter().map(|o| o.origin).collect::<Vec<_>>(),
                window.iter().map(|o| o.origin).collect::<Vec<_>>(),
                "seed {seed}: the frontier given and the frontier searched for differ"
            );
        }
        assert!(failing > 100, "{failing}");
    }
}
