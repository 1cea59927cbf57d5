//! Participants: random ids, and the per-participant shuffles of question order and of
//! candidate positions (seeded, so a participant who comes back sees the same screen).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A participant's id: 128 random bits as 32 lowercase hex digits. Unguessable, so it also
/// serves as the participant's only credential.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParticipantId(String);

impl ParticipantId {
    /// A fresh id from the operating system's random source.
    pub fn random() -> Self {
        ParticipantId(hex::encode(rand::rng().random::<[u8; 16]>()))
    }

    /// Parses an id sent by a client; `None` unless it is exactly 32 lowercase hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| ParticipantId(s.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Order in which a participant sees the questions (indices into the question list): a
/// seeded shuffle, so order effects average out across participants.
pub fn question_order(n_questions: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n_questions).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    order
}

/// Order in which a participant sees the candidates of question `number` (indices into the
/// question's candidates), so no method always sits in the same place.
pub fn candidate_order(n_candidates: usize, seed: u64, number: u32) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::from(number) + 1);
    let mut order: Vec<usize> = (0..n_candidates).collect();
    order.shuffle(&mut rng);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_their_own_format() {
        let id = ParticipantId::random();
        assert_eq!(ParticipantId::parse(id.as_str()), Some(id));
        for bad in ["", "../../etc/passwd", &"A".repeat(32), &"a".repeat(33)] {
            assert!(ParticipantId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn shuffles_are_permutations_stable_per_seed() {
        let a = candidate_order(4, 7, 3);
        assert_eq!(a, candidate_order(4, 7, 3));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3]);
        // Over many seeds every method appears in every position.
        let mut seen = [[false; 3]; 3];
        for seed in 0..50 {
            for (pos, m) in candidate_order(3, seed, 1).into_iter().enumerate() {
                seen[m][pos] = true;
            }
        }
        assert!(seen.iter().flatten().all(|&s| s));
        let q = question_order(24, 9);
        assert_eq!(q.len(), 24);
        assert_ne!(q, (0..24).collect::<Vec<_>>());
    }
}
