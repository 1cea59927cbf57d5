//! Counter-based randomness of training: every random choice (data order, crops, flips, image
//! pool draws) is a pure function of its coordinates (seed, epoch, step, item), so a run's
//! position is its whole random state and a resumed run draws exactly what an uninterrupted
//! one would.

/// SplitMix64: a counter-based generator, so every random choice is a pure function of its
/// coordinates (seed, epoch, step, item) and needs no state to save.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of several coordinates: the key of one random choice.
pub fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(0x5EED, |h, &p| mix(h ^ mix(p)))
}

/// A seeded permutation of `0..n` (Fisher–Yates).
pub fn permutation(n: usize, key: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (hash(&[key, i as u64]) % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}
