//! Pure helpers of the control plane: names, ARNs, tags, AWS enums, payload checks and pagination
//! tokens. No IO.

pub mod arn;
pub mod enums;
pub mod names;
pub mod pagination;
pub mod payload;
pub mod tags;
pub mod task_token;
pub mod validation;
