//! `--shard K/N`: the share of a plan's runs one of N processes takes. Runs are numbered in
//! plan order (variant, then seed: the order `--list` prints, from 0), and shard K takes every
//! run whose number is K modulo N. With N equal to the number of runs, shard K is exactly run
//! K, which is how a Slurm job array or a Kubernetes Indexed Job maps one task to one run.

use std::str::FromStr;

/// One of `count` shards, `index` counted from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// How many shards share the plan.
    pub count: usize,
}

impl Shard {
    /// Whether the run numbered `run` (plan order, from 0) belongs to this shard.
    pub fn contains(self, run: usize) -> bool {
        run % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "shard '{s}' is not K/N with 0 <= K < N (e.g. 0/4; Slurm: \
                 $SLURM_ARRAY_TASK_ID/N)"
            )
        };
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_the_runs_between_them() {
        let s: Shard = "1/3".parse().unwrap();
        assert_eq!(s, Shard { index: 1, count: 3 });
        assert_eq!(s.to_string(), "1/3");
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        // Every run in exactly one of the shards.
        for run in 0..10 {
            let owners = (0..3)
                .filter(|&k| Shard { index: k, count: 3 }.contains(run))
                .count();
            assert_eq!(owners, 1, "run {run}");
        }
        assert!(Shard { index: 2, count: 4 }.contains(6));
    }
}
