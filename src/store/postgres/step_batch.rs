//! Several executions' advances in ONE statement: the group commit of the executor's committer. The
//! statement is `STEP_COMMIT` (lease.rs) made multi-row: the per-step values come as parallel arrays, the
//! fenced update of all execution rows joins them, and every other write (history, inbox, tasks) joins the
//! rows that update actually wrote, so a member whose fence or inbox check fails writes nothing of its own
//! while the others commit. One statement instead of one per step: one round trip, one plan, one executor
//! start-up and one durable commit for the whole batch.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{EventColumns, PgStore};
use crate::store::lease::{CommitOutcome, StepCommit, TaskChange};
use crate::store::records;
use crate::store::Result;

/// The checks are those of `STEP_COMMIT`, per member (`s` is one row per step): the fence (version, owner,
/// RUNNING); a closing step (`s.closes`) commits only while the inbox counter and `due_at` are as the step
/// saw them (`s.inbox_seq`, `s.seen_due`); a step that does not close makes the execution due at once
/// when a message it did not read (`seen`: the messages it applied or kept) is there or came meanwhile.
/// SET expressions read the row being updated, after any wait for its lock (the re-read row), as the
/// single statement does. The outcome of each member comes back as one row: whether it was written,
/// whether it is due again at once, and whether the lease still looked ours (StaleInbox vs LeaseLost).
const STEP_COMMITS: &str = "\
WITH s AS MATERIALIZED (
    SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::TEXT[],
                         $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TIMESTAMPTZ[], $11::TIMESTAMPTZ[],
                         $12::TIMESTAMPTZ[], $13::BOOLEAN[], $14::BIGINT[])
        AS s(id, version, owner, engine_state, last_event_id, status, output, error, cause, now, seen_due,
             wake_at, closes, inbox_seq)
), seen AS MATERIALIZED (
    SELECT * FROM UNNEST($15::BIGINT[], $16::BIGINT[]) AS seen(execution_id, id)
), upd AS (
    UPDATE executions e SET
        engine_state = s.engine_state,
        last_event_id = COALESCE(s.last_event_id, e.last_event_id),
        last_owner = e.lease_owner, lease_owner = NULL, lease_expires_at = NULL, step_failures = 0,
        status = COALESCE(s.status, e.status),
        output = s.output, error = s.error, cause = s.cause,
        stop_date = CASE WHEN s.status IS NULL THEN NULL ELSE s.now END,
        due_at = CASE WHEN s.status IS NOT NULL THEN NULL
                      WHEN e.due_at IS DISTINCT FROM s.seen_due
                           OR (s.inbox_seq IS NOT NULL AND e.inbox_seq <> s.inbox_seq) THEN s.now
                      WHEN EXISTS (SELECT 1 FROM execution_inbox i
                                   WHERE i.execution_id = e.id
                                     AND NOT EXISTS (SELECT 1 FROM seen
                                                     WHERE seen.execution_id = e.id AND seen.id = i.id))
                           THEN s.now
                      ELSE s.wake_at END
    FROM s
    WHERE e.id = s.id AND e.lease_version = s.version AND e.lease_owner = s.owner AND e.status = 'RUNNING'
      AND (NOT s.closes
           OR ((s.inbox_seq IS NULL OR e.inbox_seq = s.inbox_seq) AND e.due_at IS NOT DISTINCT FROM s.seen_due))
    RETURNING e.id, e.due_at, s.now, s.status IS NOT NULL AS closed
), events AS (
    INSERT INTO history_events (execution_id, id, previous_event_id, type, timestamp, details)
    SELECT ev.execution_id, ev.id, ev.prev, ev.type, ev.ts, ev.details
    FROM UNNEST($17::BIGINT[], $18::BIGINT[], $19::BIGINT[], $20::TEXT[], $21::TIMESTAMPTZ[], $22::TEXT[])
        AS ev(execution_id, id, prev, type, ts, details)
    JOIN upd ON upd.id = ev.execution_id
), inbox AS (
    DELETE FROM execution_inbox i USING upd
    WHERE i.execution_id = upd.id
      AND (upd.closed
           OR (i.execution_id, i.id) IN (SELECT * FROM UNNEST($23::BIGINT[], $24::BIGINT[])))
), scheduled AS (
    INSERT INTO activity_tasks (token, activity_arn, execution_id, task_key, input, status, created_at)
    SELECT t.token, t.arn, upd.id, t.key, t.input, 'SCHEDULED', upd.now
    FROM UNNEST($25::BIGINT[], $26::TEXT[], $27::TEXT[], $28::TEXT[], $29::TEXT[])
        AS t(execution_id, token, arn, key, input)
    JOIN upd ON upd.id = t.execution_id
), closes AS MATERIALIZED (
    SELECT * FROM UNNEST($30::BIGINT[], $31::TEXT[], $32::TEXT[]) AS c(execution_id, key, status)
), closed AS (
    UPDATE activity_tasks a SET status = c.status, closed_at = upd.now
    FROM upd JOIN closes c ON c.execution_id = upd.id
    WHERE a.execution_id = upd.id AND a.task_key = c.key AND a.status IN ('SCHEDULED', 'STARTED')
), orphaned AS (
    -- Nobody will answer an open task of a closed execution.
    UPDATE activity_tasks a SET status = 'CANCELLED', closed_at = upd.now
    FROM upd
    WHERE upd.closed AND a.execution_id = upd.id AND a.status IN ('SCHEDULED', 'STARTED')
      AND NOT EXISTS (SELECT 1 FROM closes c WHERE c.execution_id = upd.id AND c.key = a.task_key)
)
SELECT s.id, upd.id IS NOT NULL AS written, COALESCE(upd.due_at <= s.now, FALSE) AS due_now,
       EXISTS (SELECT 1 FROM executions x
               WHERE x.id = s.id AND x.lease_version = s.version AND x.lease_owner = s.owner
                 AND x.status = 'RUNNING') AS still_ours
FROM s LEFT JOIN upd ON upd.id = s.id";

/// The batch as the parallel arrays `STEP_COMMITS` binds, members in execution id order.
#[derive(Default)]
struct Columns<'a> {
    ids: Vec<i64>,
    versions: Vec<i64>,
    owners: Vec<&'a str>,
    engine_states: Vec<&'a str>,
    last_event_ids: Vec<Option<i64>>,
    statuses: Vec<Option<&'a str>>,
    outputs: Vec<Option<&'a str>>,
    errors: Vec<Option<String>>,
    causes: Vec<Option<String>>,
    nows: Vec<DateTime<Utc>>,
    seen_dues: Vec<Option<DateTime<Utc>>>,
    wake_ats: Vec<Option<DateTime<Utc>>>,
    closes: Vec<bool>,
    inbox_seqs: Vec<Option<i64>>,
    /// (execution, message) the step read: applied or kept.
    seen: (Vec<i64>, Vec<i64>),
    /// (execution, message) the step applied (deleted with it).
    applied: (Vec<i64>, Vec<i64>),
    event_executions: Vec<i64>,
    events: EventColumns<'a>,
    scheduled: Scheduled<'a>,
    closed: (Vec<i64>, Vec<&'a str>, Vec<&'static str>),
}

/// The tasks the steps queue: execution, token, activity ARN, task key, input.
#[derive(Default)]
struct Scheduled<'a> {
    executions: Vec<i64>,
    tokens: Vec<&'a str>,
    arns: Vec<&'a str>,
    keys: Vec<&'a str>,
    inputs: Vec<&'a str>,
}

impl<'a> Columns<'a> {
    fn push(&mut self, commit: &'a StepCommit) {
        let id = commit.lease.execution_id;
        let closing = commit.step.closing.as_ref();
        self.ids.push(id);
        self.versions.push(commit.lease.version);
        self.owners.push(&commit.lease.owner);
        self.engine_states.push(&commit.step.engine_state);
        self.last_event_ids
            .push(commit.step.events.last().map(|e| e.id));
        self.statuses.push(closing.map(|c| c.status.as_str()));
        self.outputs.push(closing.and_then(|c| c.output.as_deref()));
        self.errors.push(records::storable_text(
            closing.and_then(|c| c.error.as_deref()),
        ));
        self.causes.push(records::storable_text(
            closing.and_then(|c| c.cause.as_deref()),
        ));
        self.nows.push(commit.now);
        self.seen_dues.push(commit.lease.due_at);
        self.wake_ats.push(commit.step.wake_at);
        self.closes.push(commit.step.closes_open_work());
        self.inbox_seqs.push(commit.lease.inbox_seq);
        for &message in commit.inbox_applied.iter().chain(&commit.inbox_kept) {
            self.seen.0.push(id);
            self.seen.1.push(message);
        }
        for &message in &commit.inbox_applied {
            self.applied.0.push(id);
            self.applied.1.push(message);
        }
        for event in &commit.step.events {
            self.event_executions.push(id);
            self.events.push(event);
        }
        for (token, arn, key, input) in commit.step.scheduled_tasks() {
            self.scheduled.executions.push(id);
            self.scheduled.tokens.push(token);
            self.scheduled.arns.push(arn);
            self.scheduled.keys.push(key);
            self.scheduled.inputs.push(input);
        }
        for task in &commit.step.tasks {
            if let TaskChange::Close {
                task_key,
                timed_out,
            } = task
            {
                self.closed.0.push(id);
                self.closed.1.push(task_key);
                self.closed
                    .2
                    .push(if *timed_out { "TIMED_OUT" } else { "CANCELLED" });
            }
        }
    }
}

impl PgStore {
    /// Writes the steps with one statement (see `STEP_COMMITS`); the outcomes in the order given, with the
    /// activity ARNs the written steps queued tasks for (to announce once committed). `None` when two
    /// members are the same execution, which one statement cannot fence apart (never the case for the
    /// committer: an execution has one step in flight); the caller then writes them one by one.
    pub(super) async fn commit_batch(
        &self,
        commits: &[StepCommit],
    ) -> Result<Option<(Vec<CommitOutcome>, Vec<String>)>> {
        // Members in execution id order, the one order of every batch: the update then takes the rows'
        // locks in that order (a nested loop over `s`), so two batches that meet on a row (a lease taken
        // over) wait for each other rather than deadlock. Were the plan to lock in another order, a
        // deadlock fails the statement and its members are written one by one: slower, never wrong.
        let mut order: Vec<usize> = (0..commits.len()).collect();
        order.sort_by_key(|&i| commits[i].lease.execution_id);
        let distinct: HashSet<i64> = commits.iter().map(|c| c.lease.execution_id).collect();
        if distinct.len() != commits.len() {
            return Ok(None);
        }
        let mut columns = Columns::default();
        for &i in &order {
            columns.push(&commits[i]);
        }
        let mut tx = self.pool.begin().await?;
        let query = sqlx::query(STEP_COMMITS)
            .bind(&columns.ids)
            .bind(&columns.versions)
            .bind(&columns.owners)
            .bind(&columns.engine_states)
            .bind(&columns.last_event_ids)
            .bind(&columns.statuses)
            .bind(&columns.outputs)
            .bind(&columns.errors)
            .bind(&columns.causes)
            .bind(&columns.nows)
            .bind(&columns.seen_dues)
            .bind(&columns.wake_ats)
            .bind(&columns.closes)
            .bind(&columns.inbox_seqs)
            .bind(&columns.seen.0)
            .bind(&columns.seen.1)
            .bind(&columns.event_executions);
        let rows = columns
            .events
            .bind(query)
            .bind(&columns.applied.0)
            .bind(&columns.applied.1)
            .bind(&columns.scheduled.executions)
            .bind(&columns.scheduled.tokens)
            .bind(&columns.scheduled.arns)
            .bind(&columns.scheduled.keys)
            .bind(&columns.scheduled.inputs)
            .bind(&columns.closed.0)
            .bind(&columns.closed.1)
            .bind(&columns.closed.2)
            .fetch_all(&mut *tx)
            .await?;
        let mut outcomes = vec![CommitOutcome::LeaseLost; commits.len()];
        let mut written = HashSet::new();
        let position: std::collections::HashMap<i64, usize> = commits
            .iter()
            .enumerate()
            .map(|(i, c)| (c.lease.execution_id, i))
            .collect();
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let Some(&i) = position.get(&id) else {
                continue;
            };
            outcomes[i] = if row.try_get("written")? {
                written.insert(id);
                if row.try_get("due_now")? {
                    CommitOutcome::CommittedDueNow
                } else {
                    CommitOutcome::Committed
                }
            } else if row.try_get("still_ours")? {
                // Read with the statement's snapshot, as the single statement does: a lease lost
                // meanwhile may still look ours; the caller's fenced release then does nothing.
                CommitOutcome::StaleInbox
            } else {
                CommitOutcome::LeaseLost
            };
        }
        let queued = columns
            .scheduled
            .executions
            .iter()
            .zip(&columns.scheduled.arns)
            .filter(|(id, _)| written.contains(id))
            .map(|(_, arn)| arn.to_string())
            .collect();
        // Committed only once every answer is read: an error before this point rolls the batch back, so
        // the caller's one-by-one retry never finds its own steps already written (and calls them lost).
        tx.commit().await?;
        Ok(Some((outcomes, queued)))
    }
}
