//! Task tokens: random, URL-safe, 256 bits, so they cannot be guessed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Task tokens are 1-1024 characters (AWS's 2020 model).
pub const MAX_TASK_TOKEN_LEN: usize = 1024;

pub fn new_task_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_and_distinct() {
        let a = new_task_token();
        let b = new_task_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
