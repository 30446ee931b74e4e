//! Persistence behind the [`Store`] trait: the only place that knows SQL. Every multi-step write is one
//! transaction inside one trait method, so the operations layer never holds a transaction open.
//!
//! Deletion of state machines (our choice; AWS's 2020 text is silent): `state_machine_delete` removes
//! the machine at once when none of its executions is RUNNING; otherwise it marks it DELETING, the
//! executions run to their end, and `state_machine_finish_deletions` (called by the operations before
//! they read state machines, and by whoever closes an execution) removes every DELETING machine that has
//! no RUNNING execution left. Removing a machine removes its versions, executions, history, tasks, inbox
//! and tags with it (so its name and execution ARNs can be reused).

pub mod backend;
pub mod inbox;
pub mod lease;
pub mod postgres;
pub mod records;
pub(crate) mod reports;
pub mod rows;
pub(crate) mod same_sql;
pub mod sqlite;

pub use inbox::{InboxMessage, UnreadableMessage};

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use crate::asl::HistoryEvent;
use crate::domain::enums::AwsEnum;
use crate::domain::tags::Tag;
use crate::error::ApiError;

/// A storage failure. Operations match on the first two; everything else is internal.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("row not found")]
    NotFound,
    /// A unique constraint rejected a write; holds the constraint's name.
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    /// Creating the resource would pass its quota (`NewStateMachine::quota`, `NewActivity::quota`).
    #[error("quota reached")]
    LimitExceeded,
    /// The database cannot be reached (no connection within the pool's acquire timeout, a refused or
    /// broken connection, a server shutting down): the caller may retry later.
    #[error("the database cannot be reached: {0}")]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::Unavailable(e) => {
                tracing::warn!(error = %e, "the database cannot be reached");
                ApiError::new(
                    crate::error::ErrorKind::ServiceUnavailable,
                    "The service is unavailable: its database cannot be reached. Retry later.",
                )
            }
            err => ApiError::internal(err),
        }
    }
}

/// How long a call waits for a database connection before it fails as unavailable: long enough to ride
/// out a busy pool, short enough that callers hear of an outage in seconds rather than half a minute.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// A pooled connection that sat idle this long is pinged before use (one round trip), so one the database
/// dropped meanwhile (a restart, an idle timeout) is replaced instead of failing the call. One handed back
/// moments ago is not: sqlx's default pings on every acquire, a round trip per statement under load.
const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// When a statement last found the database unreachable, in milliseconds after [`process_epoch`] plus one
/// (0: never). A restart or a killed backend breaks every pooled connection at once, also those handed back
/// moments ago: after such an error, connections idle since before it are pinged too, so one failed call
/// does not become one per pooled connection.
static UNREACHABLE_AT: AtomicU64 = AtomicU64::new(0);

fn process_epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn millis_since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(process_epoch()).as_millis()).unwrap_or(u64::MAX) + 1
}

/// Records that a statement found the database unreachable (see [`UNREACHABLE_AT`]).
pub(crate) fn note_unreachable() {
    UNREACHABLE_AT.store(millis_since_epoch(Instant::now()), Ordering::Relaxed);
}

/// Whether a connection idle for `idle_for` should be pinged before use: after [`PING_IF_IDLE_FOR`] idle,
/// or when it has been idle since before the database was last found unreachable.
fn needs_ping(idle_for: std::time::Duration, now: Instant) -> bool {
    if idle_for >= PING_IF_IDLE_FOR {
        return true;
    }
    let unreachable_at = UNREACHABLE_AT.load(Ordering::Relaxed);
    unreachable_at != 0
        && now
            .checked_sub(idle_for)
            .is_none_or(|idle_since| millis_since_epoch(idle_since) <= unreachable_at)
}

/// Pool settings both backends share: connections are checked only after [`PING_IF_IDLE_FOR`] idle, or
/// after the database was found unreachable (see [`needs_ping`]).
pub(crate) fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if needs_ping(meta.idle_for, Instant::now()) {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
}

pub type Result<T> = std::result::Result<T, Error>;

/// The current time at the store's precision (microseconds), so a value written and read back compares
/// equal to the one the caller kept.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Result<Self> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(Error::Other(
                        format!("unknown {} in the database: {other}", stringify!($name)).into(),
                    )),
                }
            }
        }
    };
}

/// The API's enums as the store writes them: their AWS names.
pub use crate::domain::enums::{ExecutionStatus, StateMachineStatus, StateMachineType};

/// Reading and writing an AWS enum as the text a row holds (its AWS name).
pub trait StoredEnum: AwsEnum {
    fn parse(text: &str) -> Result<Self> {
        Self::from_aws_name(text).ok_or_else(|| {
            Error::Other(
                format!(
                    "unknown {} in the database: {text}",
                    std::any::type_name::<Self>()
                )
                .into(),
            )
        })
    }
}

impl<T: AwsEnum> StoredEnum for T {}

text_enum!(
    /// An activity task's status.
    TaskStatus {
        Scheduled => "SCHEDULED",
        Started => "STARTED",
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
        TimedOut => "TIMED_OUT",
        Cancelled => "CANCELLED",
    }
);

/// One version of a state machine's settings (definition, role, logging, tracing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    pub id: i64,
    pub definition: String,
    pub role_arn: String,
    /// JSON text of the normalized logging configuration (AWS member names).
    pub logging_configuration: String,
    /// JSON text of the tracing configuration (AWS member names).
    pub tracing_configuration: String,
    /// JSON text of the encryption configuration (AWS member names); None when never given.
    pub encryption_configuration: Option<String>,
    pub update_date: DateTime<Utc>,
    /// AWS's revisionId: `None` for the revision CreateStateMachine made.
    pub revision_id: Option<String>,
}

/// A published version of a state machine: its number and the revision it froze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedVersionRecord {
    pub number: i64,
    pub description: Option<String>,
    pub creation_date: DateTime<Utc>,
    pub revision: VersionRecord,
}

/// Which revision a publish expects to be current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedRevision {
    /// Whatever is current.
    Current,
    /// The revision with this revisionId (`None`: the revision CreateStateMachine made).
    Revision(Option<String>),
}

/// PublishStateMachineVersion, or the publish of Create/UpdateStateMachine.
#[derive(Debug, Clone)]
pub struct PublishVersion {
    pub state_machine_id: i64,
    pub expected: ExpectedRevision,
    pub description: Option<String>,
    pub creation_date: DateTime<Utc>,
    /// How many versions a machine may have: past it the outcome is `LimitExceeded`.
    pub quota: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// A new version, numbered after every number the machine gave before.
    Published(PublishedVersionRecord),
    /// The current revision was already published: that version, unchanged.
    Existing(PublishedVersionRecord),
    /// The current revision is not the expected one; this is its revisionId.
    RevisionConflict {
        current: Option<String>,
    },
    LimitExceeded,
    NotFound,
    Deleting,
}

/// One route of an alias: a version number of the alias's machine and its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AliasRoute {
    pub version: i64,
    pub weight: i64,
}

/// A state machine alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasRecord {
    pub state_machine_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub routing: Vec<AliasRoute>,
    pub creation_date: DateTime<Utc>,
    pub update_date: DateTime<Utc>,
}

/// CreateStateMachineAlias's row.
#[derive(Debug, Clone)]
pub struct NewAlias {
    pub state_machine_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub routing: Vec<AliasRoute>,
    pub creation_date: DateTime<Utc>,
    /// How many aliases a machine may have: past it the outcome is `LimitExceeded`.
    pub quota: u64,
}

/// UpdateStateMachineAlias: the members given (None = keep).
#[derive(Debug, Clone)]
pub struct AliasChange {
    pub state_machine_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub routing: Option<Vec<AliasRoute>>,
    pub update_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasOutcome {
    /// Created or updated.
    Written(AliasRecord),
    /// Create: an alias with that name exists (untouched).
    Existing(AliasRecord),
    /// A routed version does not exist (its number).
    VersionMissing(i64),
    LimitExceeded,
    /// Update: no such alias; create: no such machine.
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionDeleteOutcome {
    Deleted,
    NotFound,
    /// Aliases route to it (their names, in name order): nothing was deleted.
    RoutedBy(Vec<String>),
}

/// A state machine with its current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachineRecord {
    pub id: i64,
    pub arn: String,
    pub name: String,
    pub machine_type: StateMachineType,
    pub status: StateMachineStatus,
    pub creation_date: DateTime<Utc>,
    pub version: VersionRecord,
}

/// CreateStateMachine's row, first version and tags.
#[derive(Debug, Clone)]
pub struct NewStateMachine {
    pub arn: String,
    pub name: String,
    pub machine_type: StateMachineType,
    pub definition: String,
    pub role_arn: String,
    pub logging_configuration: String,
    pub tracing_configuration: String,
    pub encryption_configuration: Option<String>,
    pub creation_date: DateTime<Utc>,
    pub tags: Vec<Tag>,
    /// How many state machines may exist: a create past it fails with `Error::LimitExceeded`.
    pub quota: u64,
}

/// UpdateStateMachine: the members given (None = keep the current value).
#[derive(Debug, Clone)]
pub struct StateMachineChange {
    pub state_machine_id: i64,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub logging_configuration: Option<String>,
    pub tracing_configuration: Option<String>,
    pub encryption_configuration: Option<String>,
    pub update_date: DateTime<Utc>,
    /// The revisionId of the new revision, kept only when the change changes something.
    pub revision_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    Updated(VersionRecord),
    NotFound,
    Deleting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Removed at once (no RUNNING execution).
    Deleted,
    /// Marked DELETING; removed when its last RUNNING execution closes.
    MarkedDeleting,
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRecord {
    pub id: i64,
    pub arn: String,
    pub name: String,
    pub creation_date: DateTime<Utc>,
    /// JSON text of the encryption configuration; None when never given.
    pub encryption_configuration: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewActivity {
    pub arn: String,
    pub name: String,
    pub creation_date: DateTime<Utc>,
    pub encryption_configuration: Option<String>,
    pub tags: Vec<Tag>,
    /// How many activities may exist: creating a new one past it fails with `Error::LimitExceeded` (an
    /// idempotent repeat of an existing name still succeeds).
    pub quota: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagOutcome {
    Applied,
    /// No state machine or activity has this ARN.
    ResourceNotFound,
    /// The write would leave more than the limit of tags.
    TooManyTags,
}

/// An execution, with the ARN and name of its state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionRecord {
    pub id: i64,
    pub arn: String,
    pub state_machine_id: i64,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub version_id: i64,
    pub name: String,
    pub status: ExecutionStatus,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub trace_header: Option<String>,
    /// The execution span's context (see `migrations/*/0009_trace_context.sql`).
    pub trace_context: Option<String>,
    pub start_date: DateTime<Utc>,
    pub stop_date: Option<DateTime<Utc>>,
    pub express: bool,
    pub redrive: RedriveRecord,
    /// The id of its newest history event.
    pub last_event_id: i64,
    /// Its state machine is being deleted.
    pub machine_deleting: bool,
    /// The version ARN it was started through (or its alias routed to); None for an unqualified start.
    pub state_machine_version_arn: Option<String>,
    /// The alias ARN it was started through.
    pub state_machine_alias_arn: Option<String>,
}

/// What RedriveExecution left on an execution.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RedriveRecord {
    /// 0 until the first redrive.
    pub count: u32,
    pub date: Option<DateTime<Utc>>,
    /// The clientTokens of its last redrives (at most 10, oldest first) that RedriveExecution answers
    /// again without redriving.
    pub tokens: Vec<RedriveToken>,
    /// It closed before this service could redrive (its stored state kept nothing to restart from).
    pub closed_before_redrive: bool,
}

/// A clientToken of a redrive and that redrive's date (the answer to a repeat of the token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RedriveToken {
    pub token: String,
    pub date: DateTime<Utc>,
}

/// RedriveExecution's write: the execution reopened RUNNING from `from` (its status as read), with its
/// new engine state and the `ExecutionRedriven` event, due at once.
#[derive(Debug, Clone)]
pub struct RedriveWrite {
    pub execution_id: i64,
    /// The status and redrive count the caller read; the write happens only if both are unchanged.
    pub from: ExecutionStatus,
    pub count: u32,
    pub date: DateTime<Utc>,
    /// The tokens to remember after this redrive, its own (if any) last.
    pub tokens: Vec<RedriveToken>,
    pub engine_state: String,
    pub event: HistoryEvent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedriveOutcome {
    Redriven(Box<ExecutionRecord>),
    /// The execution changed since it was read (another redrive, or it was deleted): nothing was written.
    Changed,
}

/// An execution started through a version or alias ARN: it runs that version's revision, whatever the
/// machine's current one is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedVia {
    /// The revision (`state_machine_versions` row) the version froze.
    pub version_id: i64,
    pub version_arn: String,
    pub alias_arn: Option<String>,
}

/// StartExecution's row. The version and the role recorded in `ExecutionStarted` are those current
/// when the transaction locks the state machine.
#[derive(Debug, Clone)]
pub struct NewExecution {
    pub state_machine_id: i64,
    pub arn: String,
    pub name: String,
    pub input: String,
    pub trace_header: Option<String>,
    /// The execution span's context, stored so every process that emits its spans uses the same ids.
    pub trace_context: Option<String>,
    pub start_date: DateTime<Utc>,
    pub express: bool,
    /// Commit the execution already leased to this owner (see [`lease::LeaseRequest`]).
    pub lease: Option<lease::LeaseRequest>,
    /// The execution's first advance, committed with the insert.
    pub first_step: Option<FirstStep>,
    /// Started through a version or alias: the revision it runs (None: the current one).
    pub via: Option<StartedVia>,
}

/// The first advance of a new execution, computed by the caller from the machine's version `version_id`;
/// the start commits only while that is still the current version (else [`StartOutcome::VersionChanged`]),
/// or, for a start through a version or alias, while it is the revision `via` names.
#[derive(Debug, Clone)]
pub struct FirstStep {
    pub version_id: i64,
    pub step: lease::StepWrite,
}

impl NewExecution {
    /// The execution row's state after the insert: (status, due_at, last_event_id, stop_date).
    fn initial_state(
        &self,
    ) -> (
        ExecutionStatus,
        Option<DateTime<Utc>>,
        i64,
        Option<DateTime<Utc>>,
    ) {
        match &self.first_step {
            None => (ExecutionStatus::Running, Some(self.start_date), 1, None),
            Some(first) => {
                let last_event_id = first.step.events.last().map_or(1, |e| e.id);
                match &first.step.closing {
                    Some(closing) => (closing.status, None, last_event_id, Some(self.start_date)),
                    None => (
                        ExecutionStatus::Running,
                        first.step.wake_at,
                        last_event_id,
                        None,
                    ),
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StartOutcome {
    Started {
        execution: ExecutionRecord,
        /// Present when the start asked for a lease: the execution, ready for the executor.
        leased: Option<Box<lease::LeasedExecution>>,
    },
    /// A standard execution with this name exists already (the caller decides on idempotency).
    NameTaken(ExecutionRecord),
    MachineNotFound,
    MachineDeleting,
    /// The first step was computed from a version that is no longer current: nothing was written.
    VersionChanged,
}

#[derive(Debug, Clone)]
pub struct StopRequest {
    pub execution_id: i64,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub stop_date: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    Stopped(ExecutionRecord),
    /// Closed before the stop arrived; nothing was changed.
    AlreadyClosed(ExecutionRecord),
    NotFound,
}

/// One page query of ListExecutions: newest first, strictly after the keyset position `after`.
#[derive(Debug, Clone)]
pub struct ExecutionListQuery {
    pub state_machine_id: i64,
    pub status: Option<ExecutionStatus>,
    /// ListExecutions' redriveFilter: only executions redriven at least once (true) or never (false).
    pub redriven: Option<bool>,
    /// Only the executions that ran this version (started through it or through an alias routed to it).
    pub version_arn: Option<String>,
    /// Only the executions started through this alias.
    pub alias_arn: Option<String>,
    /// (start_date, id) of the last execution of the previous page.
    pub after: Option<(DateTime<Utc>, i64)>,
    pub limit: usize,
}

/// One page of GetExecutionHistory: events with id after (or, reversed, before) `after_id`.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub execution_id: i64,
    pub after_id: Option<i64>,
    pub reverse: bool,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityTaskRecord {
    pub id: i64,
    pub token: String,
    pub activity_arn: String,
    pub execution_id: i64,
    pub task_key: String,
    pub input: String,
    pub status: TaskStatus,
    pub worker_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The integration runner's claim: bumped by each claim of the call, which fences its reports.
    pub claim_version: i64,
    /// Until when the claimed call is surely alive (renewed while it runs; `None` once it is done).
    pub claim_expires_at: Option<DateTime<Utc>>,
}

/// Integration tasks (task rows of `arn:aws:states:::` resources) the executor's integration runner
/// looks after: the open ones, or (with `closed_since`) those cancelled or timed out since then; at most
/// `limit` of them with ids above `after_id` (a keyset cursor: the runner resumes after the last id it
/// saw and wraps around, so every task is visited however many there are).
#[derive(Debug, Clone)]
pub struct IntegrationTaskQuery {
    pub closed_since: Option<DateTime<Utc>>,
    pub after_id: i64,
    pub limit: usize,
}

/// What a worker reports for a task token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskReport {
    Success {
        output: String,
    },
    Failure {
        error: Option<String>,
        cause: Option<String>,
    },
    Heartbeat,
    /// An integration's submit call answered (the executor's own report, never a worker's).
    Submitted {
        output: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskReportOutcome {
    Accepted,
    UnknownToken,
    /// The task was closed by a timeout or by the end of its execution.
    TimedOut,
    /// The task was closed by an earlier SendTaskSuccess/SendTaskFailure.
    AlreadyClosed,
}

#[async_trait]
pub trait Store: Send + Sync {
    // --- state machines ---

    /// Inserts a machine, its first version and its tags. A taken name → `UniqueViolation`.
    async fn state_machine_create(&self, new: NewStateMachine) -> Result<StateMachineRecord>;
    async fn state_machine_get(&self, arn: &str) -> Result<Option<StateMachineRecord>>;
    /// Makes a new current version from the current one and the given changes.
    async fn state_machine_update(&self, change: StateMachineChange) -> Result<UpdateOutcome>;
    async fn state_machine_delete(&self, arn: &str) -> Result<DeleteOutcome>;
    /// Removes DELETING machines that have no RUNNING execution left; returns how many.
    async fn state_machine_finish_deletions(&self) -> Result<u64>;
    /// Machines ordered by name (code points), names strictly after `after_name`, at most `limit`.
    async fn state_machine_list(
        &self,
        after_name: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>>;
    async fn state_machine_version(&self, version_id: i64) -> Result<Option<VersionRecord>>;
    /// Publishes the current revision (in one transaction with the checks of [`PublishOutcome`]).
    async fn version_publish(&self, publish: PublishVersion) -> Result<PublishOutcome>;
    async fn version_get(
        &self,
        state_machine_id: i64,
        number: i64,
    ) -> Result<Option<PublishedVersionRecord>>;
    /// A machine's versions, newest first, numbers below `before_number`, at most `limit`.
    async fn version_list(
        &self,
        state_machine_id: i64,
        before_number: Option<i64>,
        limit: usize,
    ) -> Result<Vec<PublishedVersionRecord>>;
    /// Deletes a version no alias routes to.
    async fn version_delete(
        &self,
        state_machine_id: i64,
        number: i64,
    ) -> Result<VersionDeleteOutcome>;

    // --- aliases ---

    /// Inserts the alias when its versions exist, the name is free and the quota allows.
    async fn alias_create(&self, new: NewAlias) -> Result<AliasOutcome>;
    async fn alias_get(&self, state_machine_id: i64, name: &str) -> Result<Option<AliasRecord>>;
    async fn alias_update(&self, change: AliasChange) -> Result<AliasOutcome>;
    /// Whether it existed.
    async fn alias_delete(&self, state_machine_id: i64, name: &str) -> Result<bool>;
    /// A machine's aliases in name order, names after `after_name`, at most `limit`.
    async fn alias_list(
        &self,
        state_machine_id: i64,
        after_name: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>>;

    // --- activities ---

    /// Inserts the activity and its tags, or returns the existing one with that name untouched.
    /// The flag says whether it was created.
    async fn activity_create(&self, new: NewActivity) -> Result<(ActivityRecord, bool)>;
    async fn activity_get(&self, arn: &str) -> Result<Option<ActivityRecord>>;
    /// Removes the activity and its tags; false when there was none.
    async fn activity_delete(&self, arn: &str) -> Result<bool>;
    async fn activity_list(
        &self,
        after_name: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ActivityRecord>>;

    // --- tags (state machines and activities) ---

    /// Upserts tags, keeping at most `limit` tags on the resource.
    async fn tags_add(&self, resource_arn: &str, tags: &[Tag], limit: usize) -> Result<TagOutcome>;
    /// Removes the keys (unknown ones are ignored); false when the resource does not exist.
    async fn tags_remove(&self, resource_arn: &str, keys: &[String]) -> Result<bool>;
    /// The tags ordered by key; None when the resource does not exist.
    async fn tags_list(&self, resource_arn: &str) -> Result<Option<Vec<Tag>>>;

    // --- executions ---

    /// Inserts a RUNNING execution with its `ExecutionStarted` event and wakes the executors.
    async fn execution_start(&self, new: NewExecution) -> Result<StartOutcome>;
    async fn execution_get(&self, arn: &str) -> Result<Option<ExecutionRecord>>;
    /// The executions of these ARNs that exist, in no particular order (one read for many).
    async fn executions_get_many(&self, arns: &[String]) -> Result<Vec<ExecutionRecord>>;
    /// How many executions are RUNNING (for the open-execution quota).
    async fn executions_open_count(&self) -> Result<u64>;
    /// Deletes up to `limit` closed executions that stopped before `closed_before`, with their history,
    /// tasks and messages (AWS keeps a closed execution for 90 days); returns how many.
    async fn executions_purge(&self, closed_before: DateTime<Utc>, limit: usize) -> Result<u64>;
    async fn execution_list(&self, query: ExecutionListQuery) -> Result<Vec<ExecutionRecord>>;
    /// Aborts a RUNNING execution: status, `ExecutionAborted` event, fencing, open tasks cancelled.
    async fn execution_stop(&self, stop: StopRequest) -> Result<StopOutcome>;
    /// RedriveExecution's write, in one transaction fenced by the status and redrive count read.
    async fn execution_redrive(&self, redrive: RedriveWrite) -> Result<RedriveOutcome>;
    /// The engine state an execution was left in (`None` before its first advance).
    async fn execution_engine_state(&self, execution_id: i64) -> Result<Option<String>>;
    async fn history_page(&self, query: HistoryQuery) -> Result<Vec<HistoryEvent>>;

    // --- activity tasks ---

    /// Hands the oldest SCHEDULED task of the activity to a worker (→ STARTED, TaskStarted inbox message).
    async fn activity_task_claim(
        &self,
        activity_arn: &str,
        worker_name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<ActivityTaskRecord>>;
    /// Whether the activity has SCHEDULED tasks: after a claim found none to take, true means they were
    /// there but their executions were busy (locked by a step or a report) and a retry will get one.
    async fn activity_tasks_queued(&self, activity_arn: &str) -> Result<bool>;
    /// Applies a worker's report for an open task (closes it for success/failure) and posts the
    /// matching inbox message.
    async fn activity_task_report(
        &self,
        token: &str,
        report: TaskReport,
        now: DateTime<Utc>,
    ) -> Result<TaskReportOutcome>;
    /// Hands up to `limit` queued integration tasks (task rows of `arn:aws:states:::` resources), oldest
    /// first, to the integration runner as one claim would each (→ STARTED, TaskStarted inbox message):
    /// one statement for every resource, so an idle runner costs one read.
    /// Each claim takes the next `claim_version` and holds the task until `claim_until`.
    async fn integration_tasks_claim(
        &self,
        worker_name: &str,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ActivityTaskRecord>>;
    /// Extends a running call's claim; false when the task is no longer that claim's (closed, its call
    /// done, or re-driven by another process).
    async fn integration_task_renew(
        &self,
        id: i64,
        claim_version: i64,
        claim_until: DateTime<Utc>,
    ) -> Result<bool>;
    /// Takes over a started task whose claim expired at `now` (its process died, or lost the report):
    /// the next `claim_version`, held until `claim_until`. `None` when another process took it first,
    /// or it closed.
    async fn integration_task_reclaim(
        &self,
        id: i64,
        claim_version: i64,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> Result<Option<ActivityTaskRecord>>;
    /// The runner's report for its call, as [`Store::activity_task_report`], fenced by the claim it
    /// holds: a task claimed again since is `AlreadyClosed` to it. A `Submitted` report ends the claim
    /// (the call is done; the task waits for its token or child).
    async fn integration_task_report(
        &self,
        token: &str,
        claim_version: i64,
        report: TaskReport,
        now: DateTime<Utc>,
    ) -> Result<TaskReportOutcome>;
    /// Integration tasks in id order (see [`IntegrationTaskQuery`]).
    async fn integration_tasks(
        &self,
        query: IntegrationTaskQuery,
    ) -> Result<Vec<ActivityTaskRecord>>;
}

/// `impl Store` for a backend whose aggregate files (state machines, executions, activities, tags...)
/// each define their operations as inherent methods of the same names: the trait's one impl block
/// cannot be spread over files, so it is generated here, once for both backends.
macro_rules! store_from_aggregates {
    ($backend:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $backend {
            async fn state_machine_create(
                &self,
                new: NewStateMachine,
            ) -> Result<StateMachineRecord> {
                <$backend>::state_machine_create(self, new).await
            }

            async fn state_machine_get(&self, arn: &str) -> Result<Option<StateMachineRecord>> {
                <$backend>::state_machine_get(self, arn).await
            }

            async fn state_machine_update(
                &self,
                change: StateMachineChange,
            ) -> Result<UpdateOutcome> {
                <$backend>::state_machine_update(self, change).await
            }

            async fn state_machine_delete(&self, arn: &str) -> Result<DeleteOutcome> {
                <$backend>::state_machine_delete(self, arn).await
            }

            async fn state_machine_finish_deletions(&self) -> Result<u64> {
                <$backend>::state_machine_finish_deletions(self).await
            }

            async fn state_machine_list(
                &self,
                after_name: Option<&str>,
                limit: usize,
            ) -> Result<Vec<StateMachineRecord>> {
                <$backend>::state_machine_list(self, after_name, limit).await
            }

            async fn state_machine_version(
                &self,
                version_id: i64,
            ) -> Result<Option<VersionRecord>> {
                <$backend>::state_machine_version(self, version_id).await
            }

            async fn version_publish(&self, publish: PublishVersion) -> Result<PublishOutcome> {
                <$backend>::version_publish(self, publish).await
            }

            async fn version_get(
                &self,
                state_machine_id: i64,
                number: i64,
            ) -> Result<Option<PublishedVersionRecord>> {
                <$backend>::version_get(self, state_machine_id, number).await
            }

            async fn version_list(
                &self,
                state_machine_id: i64,
                before_number: Option<i64>,
                limit: usize,
            ) -> Result<Vec<PublishedVersionRecord>> {
                <$backend>::version_list(self, state_machine_id, before_number, limit).await
            }

            async fn version_delete(
                &self,
                state_machine_id: i64,
                number: i64,
            ) -> Result<VersionDeleteOutcome> {
                <$backend>::version_delete(self, state_machine_id, number).await
            }

            async fn alias_create(&self, new: NewAlias) -> Result<AliasOutcome> {
                <$backend>::alias_create(self, new).await
            }

            async fn alias_get(
                &self,
                state_machine_id: i64,
                name: &str,
            ) -> Result<Option<AliasRecord>> {
                <$backend>::alias_get(self, state_machine_id, name).await
            }

            async fn alias_update(&self, change: AliasChange) -> Result<AliasOutcome> {
                <$backend>::alias_update(self, change).await
            }

            async fn alias_delete(&self, state_machine_id: i64, name: &str) -> Result<bool> {
                <$backend>::alias_delete(self, state_machine_id, name).await
            }

            async fn alias_list(
                &self,
                state_machine_id: i64,
                after_name: Option<&str>,
                limit: usize,
            ) -> Result<Vec<AliasRecord>> {
                <$backend>::alias_list(self, state_machine_id, after_name, limit).await
            }

            async fn activity_create(&self, new: NewActivity) -> Result<(ActivityRecord, bool)> {
                <$backend>::activity_create(self, new).await
            }

            async fn activity_get(&self, arn: &str) -> Result<Option<ActivityRecord>> {
                <$backend>::activity_get(self, arn).await
            }

            async fn activity_delete(&self, arn: &str) -> Result<bool> {
                <$backend>::activity_delete(self, arn).await
            }

            async fn activity_list(
                &self,
                after_name: Option<&str>,
                limit: usize,
            ) -> Result<Vec<ActivityRecord>> {
                <$backend>::activity_list(self, after_name, limit).await
            }

            async fn tags_add(
                &self,
                resource_arn: &str,
                tags: &[Tag],
                limit: usize,
            ) -> Result<TagOutcome> {
                <$backend>::tags_add(self, resource_arn, tags, limit).await
            }

            async fn tags_remove(&self, resource_arn: &str, keys: &[String]) -> Result<bool> {
                <$backend>::tags_remove(self, resource_arn, keys).await
            }

            async fn tags_list(&self, resource_arn: &str) -> Result<Option<Vec<Tag>>> {
                <$backend>::tags_list(self, resource_arn).await
            }

            async fn execution_start(&self, new: NewExecution) -> Result<StartOutcome> {
                <$backend>::execution_start(self, new).await
            }

            async fn execution_get(&self, arn: &str) -> Result<Option<ExecutionRecord>> {
                <$backend>::execution_get(self, arn).await
            }

            async fn executions_get_many(&self, arns: &[String]) -> Result<Vec<ExecutionRecord>> {
                <$backend>::executions_get_many(self, arns).await
            }

            async fn executions_open_count(&self) -> Result<u64> {
                <$backend>::executions_open_count(self).await
            }

            async fn executions_purge(
                &self,
                closed_before: DateTime<Utc>,
                limit: usize,
            ) -> Result<u64> {
                <$backend>::executions_purge(self, closed_before, limit).await
            }

            async fn execution_list(
                &self,
                query: ExecutionListQuery,
            ) -> Result<Vec<ExecutionRecord>> {
                <$backend>::execution_list(self, query).await
            }

            async fn execution_stop(&self, stop: StopRequest) -> Result<StopOutcome> {
                <$backend>::execution_stop(self, stop).await
            }
            async fn execution_redrive(&self, redrive: RedriveWrite) -> Result<RedriveOutcome> {
                <$backend>::execution_redrive(self, redrive).await
            }
            async fn execution_engine_state(&self, execution_id: i64) -> Result<Option<String>> {
                <$backend>::execution_engine_state(self, execution_id).await
            }

            async fn history_page(&self, query: HistoryQuery) -> Result<Vec<HistoryEvent>> {
                <$backend>::history_page(self, query).await
            }

            async fn activity_task_claim(
                &self,
                activity_arn: &str,
                worker_name: Option<&str>,
                now: DateTime<Utc>,
            ) -> Result<Option<ActivityTaskRecord>> {
                <$backend>::activity_task_claim(self, activity_arn, worker_name, now).await
            }

            async fn activity_tasks_queued(&self, activity_arn: &str) -> Result<bool> {
                <$backend>::activity_tasks_queued(self, activity_arn).await
            }

            async fn activity_task_report(
                &self,
                token: &str,
                report: TaskReport,
                now: DateTime<Utc>,
            ) -> Result<TaskReportOutcome> {
                <$backend>::task_report(self, token, None, report, now).await
            }

            async fn integration_tasks_claim(
                &self,
                worker_name: &str,
                now: DateTime<Utc>,
                claim_until: DateTime<Utc>,
                limit: usize,
            ) -> Result<Vec<ActivityTaskRecord>> {
                <$backend>::integration_tasks_claim(self, worker_name, now, claim_until, limit)
                    .await
            }

            async fn integration_task_renew(
                &self,
                id: i64,
                claim_version: i64,
                claim_until: DateTime<Utc>,
            ) -> Result<bool> {
                <$backend>::integration_task_renew(self, id, claim_version, claim_until).await
            }

            async fn integration_task_reclaim(
                &self,
                id: i64,
                claim_version: i64,
                now: DateTime<Utc>,
                claim_until: DateTime<Utc>,
            ) -> Result<Option<ActivityTaskRecord>> {
                <$backend>::integration_task_reclaim(self, id, claim_version, now, claim_until)
                    .await
            }

            async fn integration_task_report(
                &self,
                token: &str,
                claim_version: i64,
                report: TaskReport,
                now: DateTime<Utc>,
            ) -> Result<TaskReportOutcome> {
                <$backend>::task_report(self, token, Some(claim_version), report, now).await
            }

            async fn integration_tasks(
                &self,
                query: IntegrationTaskQuery,
            ) -> Result<Vec<ActivityTaskRecord>> {
                <$backend>::integration_tasks(self, query).await
            }
        }
    };
}
pub(crate) use store_from_aggregates;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn connections_idle_since_before_an_outage_are_pinged() {
        let now = Instant::now();
        assert!(needs_ping(PING_IF_IDLE_FOR, now), "idle long enough");
        note_unreachable();
        // Handed back before the outage was seen (900 ms ago): may be broken.
        assert!(needs_ping(Duration::from_millis(900), Instant::now()));
        // Handed back after it (a future instant, so no other test's outage can come later): not pinged.
        let later = Instant::now() + Duration::from_secs(10);
        assert!(!needs_ping(Duration::from_millis(1), later));
    }
}
