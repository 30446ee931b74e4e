//! StartExecution on Postgres, with group commit: concurrent starts are written by one statement (one plan,
//! one WAL flush for all of them) instead of one each. A start that arrives alone is written alone, so an
//! idle server adds no wait; under load, starts that queue while a batch is being written form the next.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot, Mutex};

use super::{EventColumns, Notifier};
use crate::store::lease::{Lease, LeasedExecution};
use crate::store::records::{self, StartRow, EXECUTION_SELECT};
use crate::store::{
    ExecutionRecord, NewExecution, Result, StartOutcome, StateMachineStatus, StoredEnum,
};

/// Batches written at once. Measured on 2 cores: 1 or 2 writers start ~2,300-3,000 executions/s, 4
/// writers ~2,000 (smaller batches), none (one statement per start) ~1,600-1,900.
const WRITERS: usize = 2;
/// The most starts one statement writes.
const MAX_BATCH: usize = 64;

/// One start, alone: the execution, its ExecutionStarted event and, when given, its first step, written
/// only while the machine is ACTIVE (and at the first step's version) and the name is free. A start through
/// a version or alias ($31) runs that revision instead of the current one. The foreign
/// keys' KEY SHARE locks order this against a concurrent DeleteStateMachine (FOR UPDATE), so a delete always
/// sees the new execution. No row: no such machine; `execution_id` NULL: DELETING, another version, or the
/// name is taken.
const START_EXECUTION: &str = "\
WITH sm AS (
    SELECT sm.id, sm.arn, sm.name, sm.status, v.id AS run_version_id, v.role_arn
    FROM state_machines sm JOIN state_machine_versions v ON v.id = COALESCE($31::BIGINT, sm.current_version_id)
    WHERE sm.id = $2
), ins AS (
    INSERT INTO executions (arn, state_machine_id, version_id, name, status, input, trace_header, start_date,
                            express, due_at, last_event_id, lease_owner, lease_expires_at, lease_version,
                            engine_state, output, error, cause, stop_date, trace_context,
                            state_machine_version_arn, state_machine_alias_arn)
    SELECT $1, sm.id, sm.run_version_id, $3, $12, $4, $5, $6, $7, $13, $14, $8, $9,
           CASE WHEN $8::TEXT IS NULL THEN 0 ELSE 1 END, $11, $15, $16, $17, $18, $30, $32, $33
    FROM sm WHERE sm.status = 'ACTIVE' AND ($10::BIGINT IS NULL OR sm.run_version_id = $10)
    ON CONFLICT DO NOTHING
    RETURNING id, due_at, lease_expires_at, lease_version
), ev AS (
    INSERT INTO history_events (execution_id, id, previous_event_id, type, timestamp, details)
    SELECT ins.id, 1, 0, 'ExecutionStarted', $6, $28 || to_json(sm.role_arn)::TEXT || $29
    FROM ins, sm WHERE NOT $7::BOOLEAN
    UNION ALL
    SELECT ins.id, e.id, e.prev, e.type, e.ts, e.details
    FROM ins, UNNEST($19::BIGINT[], $20::BIGINT[], $21::TEXT[], $22::TIMESTAMPTZ[], $23::TEXT[])
        AS e(id, prev, type, ts, details)
), scheduled AS (
    INSERT INTO activity_tasks (token, activity_arn, execution_id, task_key, input, status, created_at)
    SELECT t.token, t.arn, ins.id, t.key, t.input, 'SCHEDULED', $6
    FROM ins, UNNEST($24::TEXT[], $25::TEXT[], $26::TEXT[], $27::TEXT[]) AS t(token, arn, key, input)
)
SELECT sm.status, sm.arn AS state_machine_arn, sm.name AS state_machine_name, sm.run_version_id AS version_id,
       sm.role_arn, ins.id AS execution_id, ins.due_at, ins.lease_expires_at, ins.lease_version
FROM sm LEFT JOIN ins ON TRUE";

/// The same for several starts (distinct ARNs): one row per start, in order (`ord`), with the columns of
/// `START_EXECUTION` (`status` NULL: no such machine). Events and tasks carry the `ord` of their start.
const START_EXECUTIONS: &str = "\
WITH req AS (
    SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TIMESTAMPTZ[],
                         $7::BOOL[], $8::TEXT[], $9::TIMESTAMPTZ[], $10::BIGINT[], $11::TEXT[], $12::TEXT[],
                         $13::TIMESTAMPTZ[], $14::BIGINT[], $15::TEXT[], $16::TEXT[], $17::TEXT[],
                         $18::TIMESTAMPTZ[], $30::TEXT[], $31::TEXT[], $32::TEXT[])
        WITH ORDINALITY AS r(arn, sm_id, name, input, trace_header, start_date, express, owner, until,
                             version_id, engine_state, status, due_at, last_event_id, output, error, cause,
                             stop_date, started_before, started_after, trace_context, ord)
), sm AS (
    SELECT sm.id, sm.arn, sm.name, sm.status, sm.current_version_id, v.role_arn
    FROM state_machines sm JOIN state_machine_versions v ON v.id = sm.current_version_id
    WHERE sm.id IN (SELECT sm_id FROM req)
), ins AS (
    INSERT INTO executions (arn, state_machine_id, version_id, name, status, input, trace_header, start_date,
                            express, due_at, last_event_id, lease_owner, lease_expires_at, lease_version,
                            engine_state, output, error, cause, stop_date, trace_context)
    SELECT r.arn, sm.id, sm.current_version_id, r.name, r.status, r.input, r.trace_header, r.start_date,
           r.express, r.due_at, r.last_event_id, r.owner, r.until, CASE WHEN r.owner IS NULL THEN 0 ELSE 1 END,
           r.engine_state, r.output, r.error, r.cause, r.stop_date, r.trace_context
    FROM req r JOIN sm ON sm.id = r.sm_id
    WHERE sm.status = 'ACTIVE' AND (r.version_id IS NULL OR sm.current_version_id = r.version_id)
    -- One global order of unique-key locks, so two batches that share names (retries) cannot deadlock.
    ORDER BY r.arn
    ON CONFLICT DO NOTHING
    RETURNING id, arn, due_at, lease_expires_at, lease_version
), ev AS (
    INSERT INTO history_events (execution_id, id, previous_event_id, type, timestamp, details)
    SELECT ins.id, 1, 0, 'ExecutionStarted', r.start_date,
           r.started_before || to_json(sm.role_arn)::TEXT || r.started_after
    FROM ins JOIN req r ON r.arn = ins.arn JOIN sm ON sm.id = r.sm_id WHERE NOT r.express
    UNION ALL
    SELECT ins.id, e.id, e.prev, e.type, e.ts, e.details
    FROM UNNEST($19::BIGINT[], $20::BIGINT[], $21::BIGINT[], $22::TEXT[], $23::TIMESTAMPTZ[], $24::TEXT[])
        AS e(ord, id, prev, type, ts, details)
    JOIN req r ON r.ord = e.ord JOIN ins ON ins.arn = r.arn
), scheduled AS (
    INSERT INTO activity_tasks (token, activity_arn, execution_id, task_key, input, status, created_at)
    SELECT t.token, t.arn, ins.id, t.key, t.input, 'SCHEDULED', r.start_date
    FROM UNNEST($25::BIGINT[], $26::TEXT[], $27::TEXT[], $28::TEXT[], $29::TEXT[]) AS t(ord, token, arn, key, input)
    JOIN req r ON r.ord = t.ord JOIN ins ON ins.arn = r.arn
)
SELECT r.ord, sm.status, sm.arn AS state_machine_arn, sm.name AS state_machine_name,
       sm.current_version_id AS version_id, sm.role_arn, ins.id AS execution_id, ins.due_at,
       ins.lease_expires_at, ins.lease_version
FROM req r LEFT JOIN sm ON sm.id = r.sm_id LEFT JOIN ins ON ins.arn = r.arn
ORDER BY r.ord";

/// Writes starts and turns the rows into outcomes.
#[derive(Clone)]
pub(super) struct Starter {
    pool: PgPool,
    notifier: Notifier,
}

impl Starter {
    pub(super) fn new(pool: PgPool, notifier: Notifier) -> Self {
        Starter { pool, notifier }
    }

    async fn start_one(&self, new: NewExecution) -> Result<StartOutcome> {
        let row = StartRow::of(&new);
        let started = records::execution_started_around_role(&new);
        let step = new.first_step.as_ref().map(|first| &first.step);
        // EXPRESS executions keep no history (as on AWS): neither ExecutionStarted (see the statement)
        // nor the first step's events.
        let events = match new.express {
            true => &[][..],
            false => step.map_or(&[][..], |s| &s.events[..]),
        };
        let tasks = step.map(|s| s.scheduled_tasks()).unwrap_or_default();
        let query = sqlx::query(START_EXECUTION)
            .bind(&new.arn)
            .bind(new.state_machine_id)
            .bind(&new.name)
            .bind(&new.input)
            .bind(&new.trace_header)
            .bind(new.start_date)
            .bind(new.express)
            .bind(new.lease.as_ref().map(|l| l.owner.as_str()))
            .bind(new.lease.as_ref().map(|l| l.until))
            .bind(new.first_step.as_ref().map(|f| f.version_id))
            .bind(row.engine_state)
            .bind(row.status.as_str())
            .bind(row.due_at)
            .bind(row.last_event_id)
            .bind(row.output)
            .bind(row.error)
            .bind(row.cause)
            .bind(row.stop_date);
        let result = EventColumns::of(events)
            .bind(query)
            .bind(tasks.iter().map(|t| t.0).collect::<Vec<_>>())
            .bind(tasks.iter().map(|t| t.1).collect::<Vec<_>>())
            .bind(tasks.iter().map(|t| t.2).collect::<Vec<_>>())
            .bind(tasks.iter().map(|t| t.3).collect::<Vec<_>>())
            .bind(started.0)
            .bind(started.1)
            .bind(&new.trace_context)
            .bind(new.via.as_ref().map(|v| v.version_id))
            .bind(new.via.as_ref().map(|v| v.version_arn.as_str()))
            .bind(new.via.as_ref().and_then(|v| v.alias_arn.as_deref()))
            .fetch_optional(&self.pool)
            .await;
        let row = match result {
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return Ok(StartOutcome::MachineNotFound)
            }
            other => other?,
        };
        self.outcome(new, row.as_ref()).await
    }

    /// Several starts with distinct ARNs in one statement. Fails as a whole (e.g. a machine deleted
    /// meanwhile); the caller then writes them one by one, so each gets its own answer.
    async fn start_many(&self, batch: &[NewExecution]) -> Result<Vec<PgRow>> {
        let rows: Vec<StartRow> = batch.iter().map(StartRow::of).collect();
        let started: Vec<(String, String)> = batch
            .iter()
            .map(records::execution_started_around_role)
            .collect();
        let mut event_ords = Vec::new();
        let mut events = EventColumns::default();
        let mut tasks = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (ord, new) in (1_i64..).zip(batch) {
            let Some(first) = &new.first_step else {
                continue;
            };
            // EXPRESS executions keep no history (as on AWS).
            for event in first.step.events.iter().filter(|_| !new.express) {
                event_ords.push(ord);
                events.push(event);
            }
            for (token, arn, key, input) in first.step.scheduled_tasks() {
                tasks.0.push(ord);
                tasks.1.push(token);
                tasks.2.push(arn);
                tasks.3.push(key);
                tasks.4.push(input);
            }
        }
        let column = |f: &dyn Fn(&NewExecution) -> Option<String>| -> Vec<Option<String>> {
            batch.iter().map(f).collect()
        };
        let query = sqlx::query(START_EXECUTIONS)
            .bind(batch.iter().map(|n| n.arn.as_str()).collect::<Vec<_>>())
            .bind(batch.iter().map(|n| n.state_machine_id).collect::<Vec<_>>())
            .bind(batch.iter().map(|n| n.name.as_str()).collect::<Vec<_>>())
            .bind(batch.iter().map(|n| n.input.as_str()).collect::<Vec<_>>())
            .bind(column(&|n| n.trace_header.clone()))
            .bind(batch.iter().map(|n| n.start_date).collect::<Vec<_>>())
            .bind(batch.iter().map(|n| n.express).collect::<Vec<_>>())
            .bind(column(&|n| n.lease.as_ref().map(|l| l.owner.clone())))
            .bind(
                batch
                    .iter()
                    .map(|n| n.lease.as_ref().map(|l| l.until))
                    .collect::<Vec<_>>(),
            )
            .bind(
                batch
                    .iter()
                    .map(|n| n.first_step.as_ref().map(|f| f.version_id))
                    .collect::<Vec<_>>(),
            )
            .bind(rows.iter().map(|r| r.engine_state).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.due_at).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.last_event_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.output).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.error.as_deref()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.cause.as_deref()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.stop_date).collect::<Vec<_>>())
            .bind(event_ords);
        Ok(events
            .bind(query)
            .bind(&tasks.0)
            .bind(&tasks.1)
            .bind(&tasks.2)
            .bind(&tasks.3)
            .bind(&tasks.4)
            .bind(started.iter().map(|s| s.0.as_str()).collect::<Vec<_>>())
            .bind(started.iter().map(|s| s.1.as_str()).collect::<Vec<_>>())
            .bind(column(&|n| n.trace_context.clone()))
            .fetch_all(&self.pool)
            .await?)
    }

    /// What one start's row means; reads the existing execution when the name was taken.
    async fn outcome(&self, new: NewExecution, row: Option<&PgRow>) -> Result<StartOutcome> {
        let Some(row) = row else {
            return Ok(StartOutcome::MachineNotFound);
        };
        let Some(status) = row.try_get::<Option<String>, _>("status")? else {
            return Ok(StartOutcome::MachineNotFound);
        };
        if StateMachineStatus::parse(&status)? == StateMachineStatus::Deleting {
            return Ok(StartOutcome::MachineDeleting);
        }
        let Some(execution_id) = row.try_get::<Option<i64>, _>("execution_id")? else {
            if let Some(first) = &new.first_step {
                if row.try_get::<i64, _>("version_id")? != first.version_id {
                    return Ok(StartOutcome::VersionChanged);
                }
            }
            let existing = sqlx::query(&format!("{EXECUTION_SELECT} WHERE e.arn = $1"))
                .bind(&new.arn)
                .fetch_one(&self.pool)
                .await?;
            return Ok(StartOutcome::NameTaken(records::execution(&existing)?));
        };
        let (status, due_at, last_event_id, stop_date) = new.initial_state();
        let closing = new
            .first_step
            .as_ref()
            .and_then(|f| f.step.closing.as_ref());
        let scheduled: BTreeSet<String> = new
            .first_step
            .as_ref()
            .map(|f| {
                f.step
                    .scheduled_tasks()
                    .iter()
                    .map(|t| t.1.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let execution = ExecutionRecord {
            id: execution_id,
            arn: new.arn,
            state_machine_id: new.state_machine_id,
            state_machine_arn: row.try_get("state_machine_arn")?,
            state_machine_name: row.try_get("state_machine_name")?,
            version_id: row.try_get("version_id")?,
            name: new.name,
            status,
            input: new.input,
            output: closing.and_then(|c| c.output.clone()),
            error: closing.and_then(|c| c.error.clone()),
            cause: closing.and_then(|c| c.cause.clone()),
            trace_header: new.trace_header,
            trace_context: new.trace_context,
            start_date: new.start_date,
            stop_date,
            express: new.express,
            redrive: Default::default(),
            last_event_id,
            machine_deleting: false,
            state_machine_version_arn: new.via.as_ref().map(|v| v.version_arn.clone()),
            state_machine_alias_arn: new.via.as_ref().and_then(|v| v.alias_arn.clone()),
        };
        for arn in &scheduled {
            self.notifier.activity(arn);
        }
        let leased = match new.lease {
            Some(request) => Some(Box::new(LeasedExecution::started(
                &execution,
                Lease {
                    execution_id,
                    version: row.try_get("lease_version")?,
                    expires_at: row
                        .try_get::<Option<DateTime<Utc>>, _>("lease_expires_at")?
                        .unwrap_or(request.until),
                    due_at: row.try_get("due_at")?,
                    // A new row: nothing was ever posted to its inbox.
                    inbox_seq: Some(0),
                    owner: request.owner,
                },
                row.try_get("role_arn")?,
            ))),
            // Our own executor was woken by the caller; these wake the others.
            None if due_at.is_some_and(|due| due <= new.start_date) => {
                self.notifier.work();
                None
            }
            None => None,
        };
        Ok(StartOutcome::Started { execution, leased })
    }

    /// Writes a batch: alone, or together falling back to one by one if the statement fails. (If the
    /// statement committed but its answer was lost with the connection, the replay reports those starts
    /// as NameTaken: the same answer a client retrying after a lost reply would get.)
    async fn write(&self, batch: Vec<Request>) {
        // Starts through a version or alias (each its own revision) are written alone.
        let (alone, batch): (Vec<Request>, Vec<Request>) =
            batch.into_iter().partition(|(new, _)| new.via.is_some());
        for (new, reply) in alone {
            let _ = reply.send(self.start_one(new).await);
        }
        if batch.len() <= 1 {
            for (new, reply) in batch {
                let _ = reply.send(self.start_one(new).await);
            }
            return;
        }
        let (news, replies): (Vec<NewExecution>, Vec<_>) = batch.into_iter().unzip();
        match self.start_many(&news).await {
            Ok(rows) if rows.len() == news.len() => {
                for ((new, reply), row) in news.into_iter().zip(replies).zip(&rows) {
                    let _ = reply.send(self.outcome(new, Some(row)).await);
                }
            }
            other => {
                if let Err(e) = other {
                    tracing::debug!(error = %e, "batched start failed; writing the starts one by one");
                }
                for (new, reply) in news.into_iter().zip(replies) {
                    let _ = reply.send(self.start_one(new).await);
                }
            }
        }
    }
}

type Request = (NewExecution, oneshot::Sender<Result<StartOutcome>>);

/// `first` and what is queued behind it, up to `MAX_BATCH` starts with distinct ARNs; a start whose ARN
/// is already in the batch is `carried` to the next one.
fn collect(
    first: Request,
    queue: &mut mpsc::UnboundedReceiver<Request>,
    carried: &mut Option<Request>,
) -> Vec<Request> {
    let mut arns = HashSet::from([first.0.arn.clone()]);
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        let Ok(request) = queue.try_recv() else {
            break;
        };
        if !arns.insert(request.0.arn.clone()) {
            *carried = Some(request);
            break;
        }
        batch.push(request);
    }
    batch
}

/// The queue of starts and the writers that drain it.
#[derive(Debug, Clone)]
pub(super) struct StartBatcher {
    requests: mpsc::UnboundedSender<Request>,
}

impl StartBatcher {
    /// Must be called inside a Tokio runtime (it starts the writers).
    pub(super) fn spawn(starter: Starter) -> Self {
        let (requests, queue) = mpsc::unbounded_channel::<Request>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..WRITERS {
            let queue = queue.clone();
            let starter = starter.clone();
            tokio::spawn(async move {
                // A start whose ARN was already in the batch being formed waits for the next one.
                let mut carried: Option<Request> = None;
                loop {
                    let batch = match carried.take() {
                        // Never wait for the queue with a start in hand: the writer holding the queue may
                        // be waiting for a start that will not come.
                        Some(first) => match queue.try_lock() {
                            Ok(mut queue) => collect(first, &mut queue, &mut carried),
                            Err(_) => vec![first],
                        },
                        None => {
                            let mut queue = queue.lock().await;
                            let Some(first) = queue.recv().await else {
                                return;
                            };
                            collect(first, &mut queue, &mut carried)
                        }
                    };
                    starter.write(batch).await;
                }
            });
        }
        StartBatcher { requests }
    }

    pub(super) async fn start(&self, new: NewExecution) -> Result<StartOutcome> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send((new, reply))
            .map_err(|_| crate::store::Error::Other("the start writers have stopped".into()))?;
        answer
            .await
            .map_err(|_| crate::store::Error::Other("a start writer stopped".into()))?
    }
}
