//! Map states: one thread per item, at most MaxConcurrency of them running at once, started in item order.
//! A tolerated failure leaves its Error Output among the results; the first failure beyond the tolerance (by
//! event id) fails the state and aborts the iterations still running.
//!
//! The bookkeeping is incremental, so a pass costs what the running iterations cost rather than what the
//! whole item list costs: `running` lists the running iterations and `next_pending` points at the first one
//! not started yet. Neither is stored: both are rebuilt from `iterations` when a state is read, so the stored
//! form is the one earlier versions wrote and read.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::StateError;
use super::{to_text, Active, Flow, Run, Step, Stepper, Thread, ThreadFailure};
use crate::asl::model::{Branch, Seconds, State, StateKind};
use crate::asl::path::Roots;
use crate::asl::template::PayloadTemplate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredMapStep")]
pub(super) struct MapStep {
    items: Vec<Value>,
    iterations: Vec<Iteration>,
    max_concurrency: usize,
    started_event: i64,
    /// Last event of the iteration whose completion freed a slot: the next MapIterationStarted points at it.
    freed_by: Option<i64>,
    last_succeeded: i64,
    failures: u64,
    /// A JSONata Map's ToleratedFailureCount/Percentage, evaluated when it started (a JSONPath Map's are
    /// literals of the definition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tolerated_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tolerated_percentage: Option<f64>,
    /// The indices of the `Running` iterations, in ascending order.
    #[serde(skip)]
    running: Vec<usize>,
    /// The first `Pending` iteration, or `iterations.len()` once every iteration has started.
    #[serde(skip)]
    next_pending: usize,
}

/// A [`MapStep`] as stored: its fields without the derived ones.
#[derive(Deserialize)]
struct StoredMapStep {
    items: Vec<Value>,
    iterations: Vec<Iteration>,
    max_concurrency: usize,
    started_event: i64,
    freed_by: Option<i64>,
    last_succeeded: i64,
    failures: u64,
    #[serde(default)]
    tolerated_count: Option<u64>,
    #[serde(default)]
    tolerated_percentage: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Iteration {
    Pending,
    Running(Thread),
    Done(Value),
}

impl From<StoredMapStep> for MapStep {
    fn from(stored: StoredMapStep) -> MapStep {
        let running = stored
            .iterations
            .iter()
            .enumerate()
            .filter(|(_, i)| matches!(i, Iteration::Running(_)))
            .map(|(index, _)| index)
            .collect();
        let mut map = MapStep {
            items: stored.items,
            iterations: stored.iterations,
            max_concurrency: stored.max_concurrency,
            started_event: stored.started_event,
            freed_by: stored.freed_by,
            last_succeeded: stored.last_succeeded,
            failures: stored.failures,
            tolerated_count: stored.tolerated_count,
            tolerated_percentage: stored.tolerated_percentage,
            running,
            next_pending: 0,
        };
        map.skip_started();
        map
    }
}

impl MapStep {
    fn new(items: Vec<Value>, max_concurrency: usize, started_event: i64) -> MapStep {
        MapStep {
            iterations: vec![Iteration::Pending; items.len()],
            items,
            max_concurrency,
            started_event,
            freed_by: None,
            last_succeeded: started_event,
            failures: 0,
            tolerated_count: None,
            tolerated_percentage: None,
            running: Vec::new(),
            next_pending: 0,
        }
    }

    /// Moves `next_pending` past iterations that have started.
    fn skip_started(&mut self) {
        while self
            .iterations
            .get(self.next_pending)
            .is_some_and(|i| !matches!(i, Iteration::Pending))
        {
            self.next_pending += 1;
        }
    }

    fn has_pending(&self) -> bool {
        self.next_pending < self.iterations.len()
    }

    /// The first pending iteration, if a slot is free for it.
    fn next_to_start(&self) -> Option<usize> {
        let free = self.max_concurrency == 0 || self.running.len() < self.max_concurrency;
        (free && self.has_pending()).then_some(self.next_pending)
    }

    fn start(&mut self, index: usize, thread: Thread) {
        self.iterations[index] = Iteration::Running(thread);
        // Iterations start in index order, so this is the end but for states no version writes.
        let at = self.running.partition_point(|&i| i < index);
        self.running.insert(at, index);
        self.skip_started();
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Readies the Map of a failed or aborted state for a redrive: iterations that succeeded keep their
    /// results, the others are run again from the state each stopped in (or from the start when it kept
    /// nothing). False when there is nothing to keep (the iterations were already gathered).
    pub(super) fn prepare_redrive(&mut self, machine: &crate::asl::model::StateMachine) -> bool {
        if self.iterations.len() != self.items.len() {
            return false;
        }
        for iteration in self.iterations.iter_mut() {
            if let Iteration::Running(thread) = iteration {
                if matches!(thread.run, Run::Failed(_)) {
                    // Counted again if it fails again.
                    self.failures = self.failures.saturating_sub(1);
                }
                let run = std::mem::replace(&mut thread.run, Run::Aborted);
                match super::redrive::restart(machine, run) {
                    Some(run) => thread.run = run,
                    None => *iteration = Iteration::Pending,
                }
            }
        }
        self.running = self
            .iterations
            .iter()
            .enumerate()
            .filter(|(_, i)| matches!(i, Iteration::Running(_)))
            .map(|(index, _)| index)
            .collect();
        self.next_pending = 0;
        self.skip_started();
        self.freed_by = None;
        true
    }

    /// Every iteration is Done (a success or a tolerated failure).
    fn all_done(&self) -> bool {
        !self.has_pending() && self.running.is_empty()
    }

    /// The running iterations in index order.
    pub(super) fn running(&self) -> impl Iterator<Item = (usize, &Thread)> {
        self.running
            .iter()
            .filter_map(|&index| match &self.iterations[index] {
                Iteration::Running(thread) => Some((index, thread)),
                _ => None,
            })
    }

    /// The running iterations in index order, mutable.
    pub(super) fn running_mut(&mut self) -> impl Iterator<Item = (usize, &mut Thread)> {
        let MapStep {
            iterations,
            running,
            ..
        } = self;
        // `running` is ascending, so one pass over the slice reaches them all; `nth` on a slice iterator
        // jumps without walking.
        let mut rest = iterations.iter_mut();
        let mut at = 0;
        running.iter().filter_map(move |&index| {
            let iteration = rest.nth(index - at)?;
            at = index + 1;
            match iteration {
                Iteration::Running(thread) => Some((index, thread)),
                _ => None,
            }
        })
    }
}

/// ToleratedFailureCount and ToleratedFailurePercentage.
#[derive(Clone, Copy)]
pub(super) struct Tolerance {
    pub(super) count: Option<u64>,
    pub(super) percentage: Option<f64>,
}

impl Tolerance {
    pub(super) fn is_set(self) -> bool {
        self.count.is_some() || self.percentage.is_some()
    }

    pub(super) fn allows(self, failures: u64, items: usize) -> bool {
        let total = items.max(1) as f64;
        self.count.is_some_and(|n| failures <= n)
            || self
                .percentage
                .is_some_and(|p| (failures as f64) * 100.0 / total <= p)
    }
}

impl Stepper<'_> {
    /// Starts (or restarts, after a retry's backoff) a Map: reads its items and MaxConcurrency.
    pub(super) fn start_map(&mut self, th: &mut Thread, state: &State, mut a: Box<Active>) -> Flow {
        let StateKind::Map {
            max_concurrency, ..
        } = &state.kind
        else {
            return Flow::Block(a);
        };
        if let Some(fields) = &state.jsonata {
            let (items, max_concurrency, count, percentage) =
                match self.jsonata_map_setup(state, fields, &a) {
                    Ok(setup) => setup,
                    Err(e) => return Flow::Fail(a, e),
                };
            let started = self.emit(
                &mut th.last,
                "MapStateStarted",
                json!({"length": items.len()}),
            );
            let mut map = MapStep::new(items, max_concurrency, started);
            map.tolerated_count = count;
            map.tolerated_percentage = percentage;
            a.step = Step::Map(map);
            return self.poll(th, a);
        }
        let items = match self.map_items(state, &a, th.last) {
            Ok(items) => items,
            Err(e) => return Flow::Fail(a, e),
        };
        let ctx = self.context_if_used(state, &a);
        let max_concurrency = match max_concurrency {
            None => 0,
            Some(Seconds::Literal(n)) => *n as usize,
            Some(Seconds::Path(p)) => match p.read_in(&Roots {
                input: &a.input,
                context: &ctx,
                variables: &self.scopes,
            }) {
                Ok(v) if v.as_u64().is_some() => v.as_u64().unwrap_or(0) as usize,
                Ok(v) => {
                    let e = self.runtime(
                        &a,
                        format!(
                            "The MaxConcurrencyPath field refers to value {} which is not a valid integer: {}",
                            to_text(&v),
                            p.as_str()
                        ),
                        th.last,
                    );
                    return Flow::Fail(a, e);
                }
                Err(e) => {
                    let e = self.runtime(
                        &a,
                        format!("Invalid path '{}' : {}", p.as_str(), e.message),
                        th.last,
                    );
                    return Flow::Fail(a, e);
                }
            },
        };
        let started = self.emit(
            &mut th.last,
            "MapStateStarted",
            json!({"length": items.len()}),
        );
        a.step = Step::Map(MapStep::new(items, max_concurrency, started));
        self.poll(th, a)
    }

    /// A redriven Map: the iterations it runs again get a new `MapIterationStarted` after `started`.
    pub(super) fn restart_iterations(&mut self, map: &mut MapStep, name: &str, started: i64) {
        map.started_event = started;
        map.last_succeeded = started;
        for (index, thread) in map.running_mut() {
            thread.last = self.emit_after(
                started,
                "MapIterationStarted",
                json!({"name": name, "index": index}),
            );
        }
    }

    /// Passes over the iterations until the Map must wait: start iterations into free slots, drive the
    /// running ones, record those that ended; again while that freed slots for iterations still pending.
    /// A JSONPath Map's items: ItemsPath over the effective input, which must be an array.
    pub(super) fn map_items(
        &mut self,
        state: &State,
        a: &Active,
        event: i64,
    ) -> Result<Vec<Value>, StateError> {
        let StateKind::Map { items_path, .. } = &state.kind else {
            return Ok(Vec::new());
        };
        let ctx = self.context_if_used(state, a);
        let items = match items_path {
            None => Ok(a.input.clone()),
            Some(p) => p
                .read_in(&Roots {
                    input: &a.input,
                    context: &ctx,
                    variables: &self.scopes,
                })
                .map_err(|e| {
                    self.runtime(
                        a,
                        format!("Invalid path '{}' : {}", p.as_str(), e.message),
                        event,
                    )
                }),
        };
        match items? {
            Value::Array(items) => {
                if self.probe.is_some() {
                    let seen = Value::Array(items.clone());
                    self.inspect(super::test_state::Seen::AfterItemsPath, &seen);
                }
                Ok(items)
            }
            other => Err(self.runtime(
                a,
                format!(
                    "The ItemsPath field of the Map state must reference a JSON array, but the value is: {}",
                    to_text(&other)
                ),
                event,
            )),
        }
    }

    pub(super) fn poll_map(&mut self, th: &mut Thread, state: &State, mut a: Box<Active>) -> Flow {
        let StateKind::Map {
            iterator,
            item_selector,
            tolerated_failure_count,
            tolerated_failure_percentage,
            ..
        } = &state.kind
        else {
            return Flow::Block(a);
        };
        let tolerance = match (&state.jsonata, &a.step) {
            (Some(_), Step::Map(map)) => Tolerance {
                count: map.tolerated_count,
                percentage: map.tolerated_percentage,
            },
            _ => Tolerance {
                count: *tolerated_failure_count,
                percentage: *tolerated_failure_percentage,
            },
        };
        loop {
            if let Err(e) =
                self.start_iterations(th.last, state, &mut a, iterator, item_selector.as_ref())
            {
                return Flow::Fail(a, e);
            }
            let Step::Map(map) = &mut a.step else {
                return Flow::Block(a);
            };
            let mut progressed = self.drive_iterations(map);
            if self.exhausted {
                return Flow::Block(a);
            }
            let (freed, failure) = self.record_ended(map, &a.state, tolerance);
            progressed |= freed;
            if let Some((index, failure)) = failure {
                return self.fail_map(a, index, failure, tolerance);
            }
            if map.all_done() {
                return self.map_succeeded(th, state, a);
            }
            if !(progressed && map.has_pending()) {
                return Flow::Block(a);
            }
        }
    }

    /// Starts pending iterations, in index order, while slots are free.
    fn start_iterations(
        &mut self,
        last: i64,
        state: &State,
        a: &mut Active,
        iterator: &Branch,
        item_selector: Option<&PayloadTemplate>,
    ) -> Result<(), StateError> {
        loop {
            let Step::Map(map) = &a.step else {
                return Ok(());
            };
            let Some(index) = map.next_to_start() else {
                return Ok(());
            };
            let item = map.items[index].clone();
            let item_input = match (&state.jsonata, item_selector) {
                (Some(fields), _) => self.jsonata_item(fields, a, index, item)?,
                (None, None) => item,
                (None, Some(t)) => {
                    let ctx = self.context(a, Some((index, &item)));
                    t.evaluate_in(
                        &Roots {
                            input: &a.input,
                            context: &ctx,
                            variables: &self.scopes,
                        },
                        &mut *self.rng,
                    )
                    .map_err(|f| self.state_error(a, f, last))?
                }
            };
            let Step::Map(map) = &mut a.step else {
                return Ok(());
            };
            let prev = map.freed_by.take().unwrap_or(map.started_event);
            let started = self.emit_after(
                prev,
                "MapIterationStarted",
                json!({"name": a.state, "index": index}),
            );
            map.start(
                index,
                Thread {
                    last: started,
                    run: Run::Enter {
                        state: iterator.start_at.clone(),
                        input: item_input,
                    },
                    vars: Default::default(),
                },
            );
        }
    }

    /// Drives every running iteration; true if any of them recorded an event.
    fn drive_iterations(&mut self, map: &mut MapStep) -> bool {
        let mut progressed = false;
        for (_, thread) in map.running_mut() {
            let before = self.next_id;
            self.drive(thread);
            progressed |= self.next_id != before;
        }
        progressed
    }

    /// Records the iterations that ended: a success or a tolerated failure frees its slot (the bool says
    /// whether any did); the earliest failure beyond the tolerance is returned for the Map to fail with.
    fn record_ended(
        &mut self,
        map: &mut MapStep,
        name: &str,
        tolerance: Tolerance,
    ) -> (bool, Option<(usize, ThreadFailure)>) {
        let mut freed = false;
        let mut first_failure: Option<(usize, ThreadFailure)> = None;
        for k in 0..map.running.len() {
            let index = map.running[k];
            let Iteration::Running(thread) = &map.iterations[index] else {
                continue;
            };
            match &thread.run {
                Run::Done { output } => {
                    let output = output.clone();
                    let last = thread.last;
                    map.last_succeeded = self.emit_after(
                        last,
                        "MapIterationSucceeded",
                        json!({"name": name, "index": index}),
                    );
                    map.freed_by = Some(last);
                    map.iterations[index] = Iteration::Done(output);
                    freed = true;
                }
                Run::Failed(f) => {
                    let f = (**f).clone();
                    map.failures += 1;
                    if tolerance.allows(map.failures, map.items.len()) {
                        // A tolerated failure leaves its Error Output in the results.
                        let last = thread.last;
                        self.emit_after(
                            f.event,
                            "MapIterationFailed",
                            json!({"name": name, "index": index}),
                        );
                        map.freed_by = Some(last);
                        let err = json!({"Error": f.error, "Cause": f.cause});
                        map.iterations[index] = Iteration::Done(err);
                        freed = true;
                    } else if first_failure
                        .as_ref()
                        .is_none_or(|(_, g)| f.event < g.event)
                    {
                        first_failure = Some((index, f));
                    }
                }
                _ => {}
            }
        }
        let iterations = &map.iterations;
        map.running
            .retain(|&index| matches!(iterations[index], Iteration::Running(_)));
        (freed, first_failure)
    }

    /// Fails the Map for an iteration's failure and aborts the iterations still running.
    fn fail_map(
        &mut self,
        mut a: Box<Active>,
        failed: usize,
        failure: ThreadFailure,
        tolerance: Tolerance,
    ) -> Flow {
        let event = failure.event;
        self.emit_after(
            event,
            "MapIterationFailed",
            json!({"name": a.state, "index": failed}),
        );
        if failure.task_aborted {
            self.emit_after(event, "TaskStateAborted", Value::Null);
        }
        let name = a.state.clone();
        let Step::Map(map) = &mut a.step else {
            return Flow::Block(a);
        };
        for (index, thread) in map.running_mut() {
            if index == failed {
                continue;
            }
            self.emit_after(
                event,
                "MapIterationAborted",
                json!({"name": name, "index": index}),
            );
            if let Run::Failed(f) = &thread.run {
                if f.task_aborted {
                    self.emit_after(event, "TaskStateAborted", Value::Null);
                }
            } else {
                self.abort(thread, event);
            }
        }
        let mut error = failure.into_state_error();
        if tolerance.is_set() {
            // With a tolerance set, the Map fails for going over it, not with the last item's error.
            error.error = Some("States.ExceedToleratedFailureThreshold".into());
            error.cause = Some(format!(
                "The specified tolerated failure threshold was exceeded by the Map state '{name}'."
            ));
            error.runtime = false;
        }
        Flow::Fail(a, error)
    }

    /// Every iteration is done: the results, in item order, are the Map's result.
    fn map_succeeded(&mut self, th: &mut Thread, state: &State, mut a: Box<Active>) -> Flow {
        let Step::Map(map) = &mut a.step else {
            return Flow::Block(a);
        };
        let last = map.last_succeeded;
        let results: Vec<Value> = std::mem::take(&mut map.iterations)
            .into_iter()
            .map(|i| match i {
                Iteration::Done(v) => v,
                _ => Value::Null,
            })
            .collect();
        map.next_pending = 0;
        th.last = last;
        self.emit_after(last, "MapStateSucceeded", Value::Null);
        self.exit_with(state, a, Value::Array(results), last)
    }
}
