//! The admin token guarding the results: random by default, compared in constant time.

use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Secret that unlocks the results page, CSV export and JSON statistics.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
    text: String,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

impl AdminToken {
    /// A fresh 128-bit random token (32 hex digits).
    pub fn random() -> Self {
        Self::new(&hex::encode(rand::rng().random::<[u8; 16]>()))
    }

    /// A token chosen by the operator (`--admin-token`); `None` if shorter than 12 characters
    /// or holding characters that do not survive a URL or cookie unescaped.
    pub fn from_text(text: &str) -> Option<Self> {
        let ok = text.len() >= 12
            && text.len() <= 256
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b));
        ok.then(|| Self::new(text))
    }

    fn new(text: &str) -> Self {
        AdminToken {
            digest: Sha256::digest(text.as_bytes()).into(),
            text: text.to_string(),
        }
    }

    /// The token as text, to print once at start.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `candidate` is the token. Both sides are hashed first, so the comparison takes
    /// the same time whatever the length or content of the guess.
    pub fn matches(&self, candidate: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        self.digest.ct_eq(&d).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_token() {
        let t = AdminToken::from_text("correct-horse-battery").expect("valid");
        assert!(t.matches("correct-horse-battery"));
        assert!(!t.matches("correct-horse-batter"));
        assert!(!t.matches(""));
        assert!(AdminToken::from_text("short").is_none());
        assert!(AdminToken::from_text("has spaces in it!").is_none());
        assert_eq!(AdminToken::random().as_str().len(), 32);
    }
}
