//! The Wait state: when it ends (Seconds, Timestamp and their paths) and its timer.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::errors::StateError;
use super::{to_text, Active, Flow, Step, Stepper, Thread};
use crate::asl::model::{State, WaitFor};
use crate::asl::path::Roots;

/// AWS refuses Wait delays of 2^31 seconds or more.
const MAX_WAIT_SECONDS: i64 = (1 << 31) - 1;

impl Stepper<'_> {
    /// Leaves the Wait state once its time has come.
    pub(super) fn poll_wait(&mut self, th: &mut Thread, state: &State, a: Box<Active>) -> Flow {
        let Step::Wait { until } = &a.step else {
            return Flow::Block(a);
        };
        if *until > self.now {
            return Flow::Block(a);
        }
        if let Some(fields) = &state.jsonata {
            return self.leave_jsonata_wait(state, fields, a);
        }
        let ctx = self.context_if_used(state, &a);
        let input = a.input.clone();
        let assign = match self.evaluate_assign(&a, state.assign.as_ref(), &input, &ctx, th.last) {
            Ok(assign) => assign,
            Err(e) => return Flow::Fail(a, e),
        };
        match self.output_path(state, &a, input, &ctx, th.last) {
            Ok(output) => Flow::Exit {
                active: a,
                output,
                next: None,
                assign,
            },
            Err(e) => Flow::Fail(a, e),
        }
    }

    pub(super) fn wait_until(
        &self,
        a: &Active,
        wait: &WaitFor,
        input: &Value,
        ctx: &Value,
    ) -> Result<DateTime<Utc>, StateError> {
        let seconds = |n: i64| -> Result<DateTime<Utc>, StateError> {
            if n > MAX_WAIT_SECONDS {
                return Err(self.runtime(a, "Wait state delay is too long.", a.entered_event));
            }
            Ok(self.now + Duration::seconds(n))
        };
        match wait {
            WaitFor::Seconds(n) => seconds((*n).min(i64::MAX as u64) as i64),
            WaitFor::Timestamp(t) => Ok(t.with_timezone(&Utc)),
            // A JSONata Wait never comes here (see `start_jsonata`).
            WaitFor::Jsonata => Ok(self.now),
            WaitFor::SecondsPath(p) => {
                let v = p
                    .read_in(&Roots {
                        input,
                        context: ctx,
                        variables: &self.scopes,
                    })
                    .map_err(|_| {
                        self.runtime(
                            a,
                            format!(
                                "The SecondsPath parameter does not reference an input value: {}",
                                p.as_str()
                            ),
                            a.entered_event,
                        )
                    })?;
                match (v.as_i64(), v.as_u64()) {
                    (_, Some(n)) => seconds(n.min(i64::MAX as u64) as i64),
                    (Some(_), None) => Err(self.runtime(
                        a,
                        format!(
                            "The SecondsPath parameter references a negative value: {} == {}",
                            p.as_str(),
                            to_text(&v)
                        ),
                        a.entered_event,
                    )),
                    _ => Err(self.runtime(
                        a,
                        format!(
                            "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                            p.as_str(),
                            to_text(&v)
                        ),
                        a.entered_event,
                    )),
                }
            }
            WaitFor::TimestampPath(p) => {
                let v = p
                    .read_in(&Roots {
                        input,
                        context: ctx,
                        variables: &self.scopes,
                    })
                    .map_err(|_| {
                        self.runtime(
                            a,
                            format!(
                                "The TimestampPath parameter does not reference an input value: {}",
                                p.as_str()
                            ),
                            a.entered_event,
                        )
                    })?;
                let parsed = v.as_str().and_then(crate::asl::choice::parse_timestamp);
                let Some(t) = parsed else {
                    return Err(self.runtime(
                        a,
                        format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                            p.as_str(),
                            to_text(&v)
                        ),
                        a.entered_event,
                    ));
                };
                let t = t.with_timezone(&Utc);
                if (t - self.now).num_seconds() > MAX_WAIT_SECONDS {
                    return Err(self.runtime(a, "Wait state delay is too long.", a.entered_event));
                }
                Ok(t)
            }
        }
    }
}
