//! Postgres-only row shapes: history events as the parallel arrays its statements UNNEST.

use chrono::{DateTime, Utc};
use sqlx::Postgres;

use crate::asl::HistoryEvent;
use crate::store::records::event_details;

/// History events as the parallel arrays the writing statements UNNEST: ids, previous ids, types,
/// timestamps and details (JSON text, NULL when none), bound in that order.
#[derive(Default)]
pub(crate) struct EventColumns<'a> {
    ids: Vec<i64>,
    previous: Vec<i64>,
    types: Vec<&'a str>,
    timestamps: Vec<DateTime<Utc>>,
    details: Vec<Option<String>>,
}

impl<'a> EventColumns<'a> {
    pub(crate) fn of(events: &'a [HistoryEvent]) -> Self {
        let mut columns = EventColumns::default();
        for event in events {
            columns.push(event);
        }
        columns
    }

    pub(crate) fn push(&mut self, event: &'a HistoryEvent) {
        self.ids.push(event.id);
        self.previous.push(event.previous_event_id);
        self.types.push(event.event_type.as_str());
        self.timestamps.push(event.timestamp);
        self.details.push(event_details(event));
    }

    pub(crate) fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>
    where
        'a: 'q,
    {
        query
            .bind(self.ids)
            .bind(self.previous)
            .bind(self.types)
            .bind(self.timestamps)
            .bind(self.details)
    }
}
