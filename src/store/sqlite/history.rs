//! History events on SQLite.

use super::*;
use crate::store::records;
use crate::store::rows::{limit_param, Time};

impl SqliteStore {
    pub(super) async fn insert_event(
        tx: &mut Transaction<'_, Sqlite>,
        execution_id: i64,
        event: &HistoryEvent,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO history_events (execution_id, id, previous_event_id, type, timestamp, details) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(execution_id)
        .bind(event.id)
        .bind(event.previous_event_id)
        .bind(&event.event_type)
        .bind(Time(event.timestamp))
        .bind(records::event_details(event))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub(super) async fn history_page(&self, query: HistoryQuery) -> Result<Vec<HistoryEvent>> {
        let sql = if query.reverse {
            "SELECT id, previous_event_id, type, timestamp, details FROM history_events \
             WHERE execution_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
        } else {
            "SELECT id, previous_event_id, type, timestamp, details FROM history_events \
             WHERE execution_id = ?1 AND id > ?2 ORDER BY id ASC LIMIT ?3"
        };
        let bound = query
            .after_id
            .unwrap_or(if query.reverse { i64::MAX } else { 0 });
        let rows = sqlx::query(sql)
            .bind(query.execution_id)
            .bind(bound)
            .bind(limit_param(query.limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(records::event).collect()
    }
}
