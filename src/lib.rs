//! `sfn`: a self-hosted AWS Step Functions service.
//!
//! Code map (see ARCHITECTURE.md for the rules each module keeps):
//! - [`asl`]: the Amazon States Language engine; pure (no IO, clock or randomness of its own).
//! - [`operations`]: one function per Step Functions operation; owns transactions' meaning, no gRPC types of its own.
//! - [`store`]: persistence behind the `Store` trait (Postgres, SQLite); the only SQL.
//! - [`executor`]: leases running executions and advances them with the engine.
//! - [`api`]: the gRPC surface; thin handlers that call `operations` and map errors once.
//! - [`aws`]: the AWS JSON 1.0 protocol (boto3, the AWS CLI, AWS SDKs) onto the same `operations`.
//! - [`auth`]: who may call the API (bearer tokens, SigV4, roles) and TLS on its listener.
//! - [`sigv4`]: AWS Signature Version 4, once, for `auth` (verifying callers) and `executor` (signing calls).
//! - [`app`]: wiring of all of the above for `sfn serve`.

pub mod api;
pub mod app;
pub mod asl;
pub mod auth;
pub mod aws;
pub mod bench;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod executor;
pub mod metrics;
pub mod operations;
pub mod sigv4;
pub mod store;
pub mod telemetry;
pub mod traces;
