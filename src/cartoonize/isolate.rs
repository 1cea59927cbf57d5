//! Keeping one image's failure to that image: a panic while decoding, translating or encoding
//! one file (a decoder bug, an allocation the allocator refuses as a panic) becomes that
//! file's error, and the batch goes on to the next file and prints its summary.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `work`, turning a panic into an error message. The work owns or only reads its data,
/// so nothing it leaves half-done is seen afterwards.
pub fn isolated<T>(work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".to_string());
            Err(format!(
                "internal error while processing it ({what}); the other images went on; please report this file"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error() {
        let r: Result<(), String> = isolated(|| panic!("boom"));
        assert!(r.unwrap_err().contains("boom"));
        assert_eq!(isolated(|| Ok::<_, String>(3)), Ok(3));
    }
}
