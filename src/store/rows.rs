//! Reading columns the same way on both backends. The one difference between their rows is time:
//! Postgres keeps `timestamptz`, SQLite INTEGER microseconds since the Unix epoch (see
//! migrations/sqlite/0001_init.sql). [`Time`] reads and writes either, so a record is built from a row
//! by one function whatever the backend (see `records`).

use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{ColumnIndex, Decode, Encode, Postgres, Row, Sqlite, Type};

use super::{Error, Result};

/// A time as a column holds it, on either backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub DateTime<Utc>);

/// A time as SQLite stores it.
pub fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// A time as SQLite stored it.
pub fn from_micros(value: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| {
        Error::Other(format!("timestamp out of range in the database: {value}").into())
    })
}

impl Type<Postgres> for Time {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
}

impl<'r> Decode<'r, Postgres> for Time {
    fn decode(value: PgValueRef<'r>) -> std::result::Result<Self, BoxDynError> {
        Ok(Time(<DateTime<Utc> as Decode<Postgres>>::decode(value)?))
    }
}

impl<'q> Encode<'q, Postgres> for Time {
    fn encode_by_ref(
        &self,
        buf: &mut PgArgumentBuffer,
    ) -> std::result::Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl Type<Sqlite> for Time {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Sqlite> for Time {
    fn decode(value: SqliteValueRef<'r>) -> std::result::Result<Self, BoxDynError> {
        let micros = <i64 as Decode<Sqlite>>::decode(value)?;
        Ok(Time(from_micros(micros)?))
    }
}

impl<'q> Encode<'q, Sqlite> for Time {
    fn encode_by_ref(
        &self,
        buf: &mut Vec<SqliteArgumentValue<'q>>,
    ) -> std::result::Result<IsNull, BoxDynError> {
        <i64 as Encode<Sqlite>>::encode(micros(self.0), buf)
    }
}

/// Typed column reads shared by the record builders; every backend row that can decode these types has
/// them.
pub trait Columns {
    fn int(&self, column: &str) -> Result<i64>;
    fn int_opt(&self, column: &str) -> Result<Option<i64>>;
    fn text(&self, column: &str) -> Result<String>;
    fn text_opt(&self, column: &str) -> Result<Option<String>>;
    fn flag(&self, column: &str) -> Result<bool>;
    fn time(&self, column: &str) -> Result<DateTime<Utc>>;
    fn time_opt(&self, column: &str) -> Result<Option<DateTime<Utc>>>;
}

impl<R> Columns for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Time: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, column: &str) -> Result<i64> {
        Ok(self.try_get(column)?)
    }

    fn int_opt(&self, column: &str) -> Result<Option<i64>> {
        Ok(self.try_get(column)?)
    }

    fn text(&self, column: &str) -> Result<String> {
        Ok(self.try_get(column)?)
    }

    fn text_opt(&self, column: &str) -> Result<Option<String>> {
        Ok(self.try_get(column)?)
    }

    fn flag(&self, column: &str) -> Result<bool> {
        Ok(self.try_get(column)?)
    }

    fn time(&self, column: &str) -> Result<DateTime<Utc>> {
        Ok(self.try_get::<Time, _>(column)?.0)
    }

    fn time_opt(&self, column: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(self.try_get::<Option<Time>, _>(column)?.map(|t| t.0))
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => {
                super::note_unreachable();
                Error::Unavailable(Box::new(err))
            }
            // SQLSTATE class 08 (connection exception), 57P01-57P03 (the server is shutting down or
            // starting).
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")) =>
            {
                super::note_unreachable();
                Error::Unavailable(Box::new(err))
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Error::UniqueViolation(db.constraint().unwrap_or_default().to_string())
            }
            _ => Error::Other(Box::new(err)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Error::Other(Box::new(err))
    }
}

/// A page size as bound to LIMIT.
pub(crate) fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
