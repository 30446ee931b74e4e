//! The executor's inbox: the messages an execution's engine receives (a worker's report, a task handed
//! to a worker), stored as the JSON form of [`Signal`] and written and read here only.

use chrono::{DateTime, Utc};

use crate::asl::Signal;

/// A message for the engine, read back from the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxMessage {
    pub id: i64,
    pub execution_id: i64,
    pub signal: Signal,
    pub created_at: DateTime<Utc>,
}

/// An inbox row that is not a [`Signal`] (written by another version, or damaged): the executor reports
/// it and leaves it in place, so it is there to look at instead of lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableMessage {
    pub id: i64,
    pub text: String,
    pub error: String,
}

/// A signal as the inbox stores it.
pub fn encode(signal: &Signal) -> String {
    serde_json::to_string(signal).expect("a Signal always serializes")
}

/// An execution's inbox rows, in id order, sorted into messages and rows the engine cannot read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inbox {
    pub messages: Vec<InboxMessage>,
    pub unreadable: Vec<UnreadableMessage>,
}

impl Inbox {
    pub(crate) fn push(
        &mut self,
        id: i64,
        execution_id: i64,
        text: String,
        created_at: DateTime<Utc>,
    ) {
        match serde_json::from_str(&text) {
            Ok(signal) => self.messages.push(InboxMessage {
                id,
                execution_id,
                signal,
                created_at,
            }),
            Err(e) => self.unreadable.push(UnreadableMessage {
                id,
                text,
                error: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_as_written() {
        let signals = [
            Signal::TaskStarted {
                task: "t".into(),
                worker_name: Some("w".into()),
            },
            Signal::TaskStarted {
                task: "t".into(),
                worker_name: None,
            },
            Signal::TaskSucceeded {
                task: "t".into(),
                output: "{}".into(),
            },
            Signal::TaskFailed {
                task: "t".into(),
                error: Some("E".into()),
                cause: None,
            },
            Signal::TaskHeartbeat { task: "t".into() },
        ];
        let mut inbox = Inbox::default();
        for (id, signal) in (1..).zip(&signals) {
            inbox.push(id, 7, encode(signal), crate::store::now());
        }
        inbox.push(9, 7, "{\"kind\":\"Nope\"}".into(), crate::store::now());
        let read: Vec<&Signal> = inbox.messages.iter().map(|m| &m.signal).collect();
        assert_eq!(read, signals.iter().collect::<Vec<_>>());
        assert_eq!(inbox.unreadable.len(), 1);
        assert_eq!(inbox.unreadable[0].id, 9);
    }
}
