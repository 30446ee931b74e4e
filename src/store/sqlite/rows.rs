//! SQLite-only binding: lists as `IN (...)` (it has no array parameters).

use sqlx::{QueryBuilder, Sqlite};

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
