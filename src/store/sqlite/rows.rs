//! SQLite-only binding: lists as `IN (...)` and rows as multi-row `VALUES` (it has no array parameters).

use sqlx::{QueryBuilder, Sqlite, Transaction};

use crate::asl::HistoryEvent;
use crate::store::records;
use crate::store::rows::Time;
use crate::store::Result;

/// Appends ` IN (?, ?, ...)` binding `values` (SQLite has no array parameters).
pub(super) fn push_in_list<'a, T>(builder: &mut QueryBuilder<'a, Sqlite>, values: &[T])
where
    T: 'a + sqlx::Encode<'a, Sqlite> + sqlx::Type<Sqlite> + Clone + Send,
{
    builder.push(" IN (");
    let mut separated = builder.separated(", ");
    for value in values {
        separated.push_bind(value.clone());
    }
    separated.push_unseparated(")");
}

/// The most events one `INSERT` writes; a power of two (see [`insert_events`]).
const MAX_EVENTS_PER_INSERT: usize = 64;

/// How many of `left` rows the next multi-row `INSERT` takes: the largest power of two that fits, at most
/// [`MAX_EVENTS_PER_INSERT`].
fn insert_size(left: usize) -> usize {
    MAX_EVENTS_PER_INSERT.min(1 << left.max(1).ilog2())
}

/// Writes `events` with as few statements as the statement cache allows: each `INSERT ... VALUES` takes a
/// power-of-two number of rows (64, 32, ..., 1), so any count is a handful of statements (22 = 16 + 4 + 2)
/// of at most seven shapes, each prepared once per connection. One statement per event costs a round trip
/// to SQLite's connection thread each.
pub(super) async fn insert_events(
    tx: &mut Transaction<'_, Sqlite>,
    execution_id: i64,
    events: &[&HistoryEvent],
) -> Result<()> {
    let mut rest = events;
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(insert_size(rest.len()));
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO history_events (execution_id, id, previous_event_id, type, timestamp, details) ",
        );
        insert.push_values(chunk, |mut row, event| {
            row.push_bind(execution_id)
                .push_bind(event.id)
                .push_bind(event.previous_event_id)
                .push_bind(event.event_type.as_str())
                .push_bind(Time(event.timestamp))
                .push_bind(records::event_details(event));
        });
        insert.build().execute(&mut **tx).await?;
        rest = after;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_take_every_row_in_few_power_of_two_statements() {
        for count in 1..=300 {
            let mut sizes = Vec::new();
            let mut left = count;
            while left > 0 {
                let size = insert_size(left);
                assert!(size.is_power_of_two() && size <= MAX_EVENTS_PER_INSERT && size <= left);
                sizes.push(size);
                left -= size;
            }
            assert_eq!(sizes.iter().sum::<usize>(), count);
            // Full statements, then at most one of each smaller size.
            let tail = sizes.iter().filter(|&&s| s < MAX_EVENTS_PER_INSERT).count();
            assert!(
                tail <= MAX_EVENTS_PER_INSERT.ilog2() as usize,
                "{count}: {sizes:?}"
            );
        }
        assert_eq!(insert_size(22), 16);
    }
}
