//! Map states: one thread per item, at most MaxConcurrency of them running at once, started in item order.
//! A tolerated failure leaves its Error Output among the results; the first failure beyond the tolerance (by
//! event id) fails the state and aborts the iterations still running.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{to_text, Active, Flow, Run, Step, Stepper, Thread, ThreadFailure};
use crate::asl::model::{Seconds, State, StateKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct MapStep {
    items: Vec<Value>,
    pub(super) iterations: Vec<Iteration>,
    max_concurrency: usize,
    started_event: i64,
    /// Last event of the iteration whose completion freed a slot: the next MapIterationStarted points at it.
    freed_by: Option<i64>,
    last_succeeded: i64,
    failures: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum Iteration {
    Pending,
    Running(Thread),
    Done(Value),
}

impl Stepper<'_> {
    /// Starts (or restarts, after a retry's backoff) a Map: reads its items and MaxConcurrency.
    pub(super) fn start_map(&mut self, th: &mut Thread, state: &State, mut a: Box<Active>) -> Flow {
        let StateKind::Map {
            items_path,
            max_concurrency,
            ..
        } = &state.kind
        else {
            return Flow::Block(a);
        };
        let ctx = self.context_if_used(state, &a);
        let items = match items_path {
            None => Ok(a.input.clone()),
            Some(p) => p.read(&a.input, &ctx).map_err(|e| {
                self.runtime(
                    &a,
                    format!("Invalid path '{}' : {}", p.as_str(), e.message),
                    th.last,
                )
            }),
        };
        let items = match items {
            Ok(Value::Array(items)) => items,
            Ok(other) => {
                let e = self.runtime(
                    &a,
                    format!(
                        "The ItemsPath field of the Map state must reference a JSON array, but the value is: {}",
                        to_text(&other)
                    ),
                    th.last,
                );
                return Flow::Fail(a, e);
            }
            Err(e) => return Flow::Fail(a, e),
        };
        let max_concurrency = match max_concurrency {
            None => 0,
            Some(Seconds::Literal(n)) => *n as usize,
            Some(Seconds::Path(p)) => match p.read(&a.input, &ctx) {
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
        a.step = Step::Map(MapStep {
            iterations: vec![Iteration::Pending; items.len()],
            items,
            max_concurrency,
            started_event: started,
            freed_by: None,
            last_succeeded: started,
            failures: 0,
        });
        self.poll(th, a)
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
        loop {
            // Start iterations while there are free slots.
            let Step::Map(map) = &a.step else {
                return Flow::Block(a);
            };
            let running = map
                .iterations
                .iter()
                .filter(|i| matches!(i, Iteration::Running(_)))
                .count();
            let next_pending = map
                .iterations
                .iter()
                .position(|i| matches!(i, Iteration::Pending));
            let mut started_any = false;
            if let Some(index) = next_pending {
                let free = map.max_concurrency == 0 || running < map.max_concurrency;
                if free {
                    let item = map.items[index].clone();
                    let item_input = match item_selector {
                        None => Ok(item.clone()),
                        Some(t) => {
                            let ctx = self.context(&a, Some((index, &item)));
                            t.evaluate(&a.input, &ctx, &mut *self.rng)
                                .map_err(|f| self.state_error(&a, f, th.last))
                        }
                    };
                    let item_input = match item_input {
                        Ok(i) => i,
                        Err(e) => return Flow::Fail(a, e),
                    };
                    let Step::Map(map) = &mut a.step else {
                        return Flow::Block(a);
                    };
                    let prev = map.freed_by.take().unwrap_or(map.started_event);
                    let started = self.emit_after(
                        prev,
                        "MapIterationStarted",
                        json!({"name": a.state, "index": index}),
                    );
                    map.iterations[index] = Iteration::Running(Thread {
                        last: started,
                        run: Run::Enter {
                            state: iterator.start_at.clone(),
                            input: item_input,
                        },
                    });
                    started_any = true;
                }
            }
            if started_any {
                continue;
            }
            // Drive every running iteration, then look at what finished.
            let Step::Map(map) = &mut a.step else {
                return Flow::Block(a);
            };
            let mut progressed = false;
            for index in 0..map.iterations.len() {
                let Iteration::Running(thread) = &mut map.iterations[index] else {
                    continue;
                };
                let before = self.next_id;
                self.drive(thread);
                progressed |= self.next_id != before;
            }
            if self.exhausted {
                return Flow::Block(a);
            }
            let mut first_failure: Option<(usize, ThreadFailure)> = None;
            for index in 0..map.iterations.len() {
                let Iteration::Running(thread) = &mut map.iterations[index] else {
                    continue;
                };
                match &thread.run {
                    Run::Done { output } => {
                        let output = output.clone();
                        let last = thread.last;
                        map.last_succeeded = self.emit_after(
                            last,
                            "MapIterationSucceeded",
                            json!({"name": a.state, "index": index}),
                        );
                        map.freed_by = Some(last);
                        map.iterations[index] = Iteration::Done(output);
                        progressed = true;
                    }
                    Run::Failed(f) => {
                        let f = (**f).clone();
                        map.failures += 1;
                        let total = map.items.len().max(1) as f64;
                        let tolerated = tolerated_failure_count.is_some_and(|n| map.failures <= n)
                            || tolerated_failure_percentage
                                .is_some_and(|p| (map.failures as f64) * 100.0 / total <= p);
                        if tolerated {
                            // A tolerated failure leaves its Error Output in the results.
                            let last = thread.last;
                            self.emit_after(
                                f.event,
                                "MapIterationFailed",
                                json!({"name": a.state, "index": index}),
                            );
                            map.freed_by = Some(last);
                            let err = json!({"Error": f.error, "Cause": f.cause});
                            map.iterations[index] = Iteration::Done(err);
                            progressed = true;
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
            if let Some((failed, failure)) = first_failure {
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
                for (index, iteration) in map.iterations.iter_mut().enumerate() {
                    if index == failed {
                        continue;
                    }
                    if let Iteration::Running(thread) = iteration {
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
                }
                let mut error = failure.into_state_error();
                if tolerated_failure_count.is_some() || tolerated_failure_percentage.is_some() {
                    // With a tolerance set, the Map fails for going over it, not with the last item's error.
                    error.error = Some("States.ExceedToleratedFailureThreshold".into());
                    error.cause = Some(format!(
                        "The specified tolerated failure threshold was exceeded by the Map state '{name}'."
                    ));
                    error.runtime = false;
                }
                return Flow::Fail(a, error);
            }
            let Step::Map(map) = &mut a.step else {
                return Flow::Block(a);
            };
            if map
                .iterations
                .iter()
                .all(|i| matches!(i, Iteration::Done(_)))
            {
                let last = map.last_succeeded;
                let results: Vec<Value> = std::mem::take(&mut map.iterations)
                    .into_iter()
                    .map(|i| match i {
                        Iteration::Done(v) => v,
                        _ => Value::Null,
                    })
                    .collect();
                th.last = last;
                self.emit_after(last, "MapStateSucceeded", Value::Null);
                return self.exit_with(state, a, Value::Array(results), last);
            }
            let has_pending = map
                .iterations
                .iter()
                .any(|i| matches!(i, Iteration::Pending));
            if !(progressed && has_pending) {
                return Flow::Block(a);
            }
        }
    }
}
