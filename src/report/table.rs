//! Result tables: per variant and metric, the mean over seeds with a 95% confidence interval
//! (Student's t, n − 1 degrees of freedom), as Markdown and CSV.

use std::collections::BTreeMap;
use std::fmt::Write;

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Mean and 95% confidence half-width of one metric over seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricSummary {
    /// Number of values (seeds).
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); 0 for one value.
    pub std: f64,
    /// Half-width of the 95% t-interval; `None` for a single value.
    pub ci95: Option<f64>,
}

impl MetricSummary {
    /// Summarizes values; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Self> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Some(Self {
                n,
                mean,
                std: 0.0,
                ci95: None,
            });
        }
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let std = var.sqrt();
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
            .map(|d| d.inverse_cdf(0.975))
            .unwrap_or(f64::NAN);
        Some(Self {
            n,
            mean,
            std,
            ci95: Some(t * std / (n as f64).sqrt()),
        })
    }

    /// `12.34 ± 0.56` (or `12.34` for a single value).
    pub fn display(&self, decimals: usize) -> String {
        match self.ci95 {
            Some(ci) => format!("{:.*} ± {:.*}", decimals, self.mean, decimals, ci),
            None => format!("{:.*}", decimals, self.mean),
        }
    }
}

/// Values per (variant, metric), each a list over seeds, in insertion order of variants.
#[derive(Debug, Default, Clone)]
pub struct ResultTable {
    variants: Vec<String>,
    metrics: Vec<String>,
    values: BTreeMap<(String, String), Vec<(u64, f64)>>,
}

impl ResultTable {
    /// Records one seed's value.
    pub fn add(&mut self, variant: &str, metric: &str, seed: u64, value: f64) {
        if !self.variants.iter().any(|v| v == variant) {
            self.variants.push(variant.to_string());
        }
        if !self.metrics.iter().any(|m| m == metric) {
            self.metrics.push(metric.to_string());
        }
        self.values
            .entry((variant.to_string(), metric.to_string()))
            .or_default()
            .push((seed, value));
    }

    /// The summary of one cell.
    pub fn summary(&self, variant: &str, metric: &str) -> Option<MetricSummary> {
        let vals: Vec<f64> = self
            .values
            .get(&(variant.to_string(), metric.to_string()))?
            .iter()
            .map(|(_, v)| *v)
            .collect();
        MetricSummary::of(&vals)
    }

    /// A Markdown table: one row per variant, one column per metric, `mean ± CI95`.
    pub fn to_markdown(&self, decimals: usize) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "| variant | {} |", self.metrics.join(" | "));
        let _ = writeln!(s, "|---|{}", "---|".repeat(self.metrics.len()));
        for v in &self.variants {
            let cells: Vec<String> = self
                .metrics
                .iter()
                .map(|m| {
                    self.summary(v, m)
                        .map(|x| format!("{} (n={})", x.display(decimals), x.n))
                        .unwrap_or_else(|| "–".into())
                })
                .collect();
            let _ = writeln!(s, "| {v} | {} |", cells.join(" | "));
        }
        s
    }

    /// CSV with one row per variant and metric: `variant,metric,n,mean,std,ci95,values`.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("variant,metric,n,mean,std,ci95,values\n");
        for v in &self.variants {
            for m in &self.metrics {
                let Some(x) = self.summary(v, m) else {
                    continue;
                };
                let raw = self.values[&(v.clone(), m.clone())]
                    .iter()
                    .map(|(seed, val)| format!("{seed}:{val}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let ci = x.ci95.map(|c| c.to_string()).unwrap_or_default();
                let _ = writeln!(s, "{v},{m},{},{},{},{ci},{raw}", x.n, x.mean, x.std);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_interval_uses_students_t() {
        // Values 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.302653 → half-width 4.302653 / sqrt(3).
        let s = MetricSummary::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.mean, 2.0);
        assert!((s.std - 1.0).abs() < 1e-12);
        assert!((s.ci95.unwrap() - 4.302_652_729_911_275 / 3f64.sqrt()).abs() < 1e-9);
        assert_eq!(MetricSummary::of(&[5.0]).unwrap().ci95, None);
        assert!(MetricSummary::of(&[]).is_none());
    }

    #[test]
    fn tables_render_every_variant_and_metric() {
        let mut t = ResultTable::default();
        for (seed, fid) in [(0, 100.0), (1, 110.0)] {
            t.add("cartoongan", "fid", seed, fid);
            t.add("cyclegan", "fid", seed, fid + 20.0);
        }
        t.add("cartoongan", "kid", 0, 0.05);
        let md = t.to_markdown(2);
        assert!(
            md.contains("| cartoongan | 105.00 ± 63.53 (n=2) | 0.05 (n=1) |"),
            "{md}"
        );
        assert!(
            md.contains("| cyclegan | 125.00 ± 63.53 (n=2) | – |"),
            "{md}"
        );
        let csv = t.to_csv();
        assert!(csv.contains("cyclegan,fid,2,125,"), "{csv}");
        assert!(csv.contains("0:120 1:130"), "{csv}");
    }
}
