//! The study scaled out: a tiny plan of 4 runs (2 variants × 2 seeds) run by one process, then
//! by two `--shard` processes at once followed by `--report`, then as a Slurm job array on a
//! real single-node Slurm cluster (`tools/slurm-test-cluster.sh`): all three reports must have
//! the same tables. Also: `--list`, a report of unfinished runs naming what is missing, and a
//! shard refusing a run another process holds.
//!
//! The Slurm part is skipped with a message where Slurm cannot start (not root, slurm-wlm or
//! munge missing), except with `CI=true`, where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use toongan::experiment::RunLock;

mod common;

/// 18 shared photos at 96 px: 4 training photos, 4 training "cartoons", 4 test photos, 6 test
/// "cartoons" (photos stand in for cartoons: the scores only need to be reproducible).
fn make_data(root: &Path) -> [PathBuf; 4] {
    let sources = common::shared_photos();
    assert!(sources.len() >= 18, "need 18 shared photos");
    let dirs = [
        "train_photos",
        "train_cartoons",
        "test_photos",
        "test_cartoons",
    ]
    .map(|d| root.join(d));
    for (i, src) in sources.iter().take(18).enumerate() {
        let dir = &dirs[match i {
            0..4 => 0,
            4..8 => 1,
            8..12 => 2,
            _ => 3,
        }];
        std::fs::create_dir_all(dir).unwrap();
        let img = toongan::train::load_resized(src, 96).unwrap();
        img.save(dir.join(format!("{i:02}.png"))).unwrap();
    }
    dirs
}

/// The shipped plan with two of its variants and its data folders pointed at `data`.
fn test_plan(dir: &Path, data: &[PathBuf; 4]) -> PathBuf {
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/improving-cartoongan.toml");
    let mut plan: toml::Table = toml::from_str(&std::fs::read_to_string(shipped).unwrap()).unwrap();
    let mut d = toml::Table::new();
    for (key, path) in [
        "train_photos",
        "train_cartoons",
        "test_photos",
        "test_cartoons",
    ]
    .iter()
    .zip(data)
    {
        d.insert(key.to_string(), path.display().to_string().into());
    }
    plan.insert("data".into(), d.into());
    let kept: Vec<toml::Value> = plan["variant"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| ["cartoongan", "lsgan"].contains(&v["name"].as_str().unwrap()))
        .cloned()
        .collect();
    assert_eq!(kept.len(), 2);
    plan.insert("variant".into(), kept.into());
    let path = dir.join("plan.toml");
    std::fs::write(&path, toml::to_string(&plan).unwrap()).unwrap();
    path
}

/// `toongan experiment PLAN --out OUT --scale tiny --quiet ARGS` with a private cache and no
/// real Inception (so every process scores with the same seeded random one).
fn experiment_cmd(plan: &Path, out: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_toongan"));
    cmd.arg("experiment")
        .arg(plan)
        .arg("--out")
        .arg(out)
        .args(["--scale", "tiny", "--quiet"])
        .args(args)
        .env_remove("TOONGAN_FID_WEIGHTS")
        .env("XDG_CACHE_HOME", out.with_extension("cache"));
    cmd
}

fn ok(output: Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{what} failed:\n{stderr}");
    stderr
}

/// The tables of a report: results.csv, and the summary table of results.md.
fn tables(out: &Path) -> (String, String) {
    let report = out.join("report");
    let csv = std::fs::read_to_string(report.join("results.csv")).unwrap();
    let md = std::fs::read_to_string(report.join("results.md")).unwrap();
    let table: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("| variant | fid"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(table.len() >= 4, "no summary table in results.md:\n{md}");
    (csv, table.join("\n"))
}

/// Two CSV texts equal up to float rounding: scores read back from the runs' markers go
/// through serde_json, whose float parsing may differ from the written value in the last bit.
fn assert_same_csv(a: &str, b: &str) {
    let tokens =
        |s: &str| -> Vec<String> { s.split([',', ' ', ':', '\n']).map(str::to_string).collect() };
    let (ta, tb) = (tokens(a), tokens(b));
    assert_eq!(ta.len(), tb.len(), "{a}\n---\n{b}");
    for (x, y) in ta.iter().zip(&tb) {
        match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(u), Ok(v)) => assert!(
                (u - v).abs() <= 1e-9 * u.abs().max(v.abs()),
                "{x} vs {y}\n{a}\n---\n{b}"
            ),
            _ => assert_eq!(x, y, "{a}\n---\n{b}"),
        }
    }
}

fn assert_same_tables(a: &(String, String), b: &(String, String)) {
    assert_same_csv(&a.0, &b.0);
    assert_eq!(a.1, b.1);
}

const RUNS: [&str; 4] = ["cartoongan/0", "cartoongan/1", "lsgan/0", "lsgan/1"];

#[test]
fn shards_and_a_slurm_job_array_give_the_single_process_report() {
    let tmp = tempfile::tempdir().unwrap();
    let data = make_data(tmp.path());
    let plan = test_plan(tmp.path(), &data);

    // --list: one variant/seed a line, in plan order (the shard numbering).
    let out = experiment_cmd(&plan, &tmp.path().join("unused"), &["--list"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    ok(out, "--list");
    assert_eq!(stdout.lines().collect::<Vec<_>>(), RUNS);

    // One process: the reference report.
    let single = tmp.path().join("single");
    let start = Instant::now();
    ok(
        experiment_cmd(&plan, &single, &[]).output().unwrap(),
        "single process",
    );
    eprintln!("one process: {:.1} s", start.elapsed().as_secs_f64());
    let reference = tables(&single);

    // Two shards at once in one folder, then the report.
    let sharded = tmp.path().join("sharded");
    let report = experiment_cmd(&plan, &sharded, &["--report"])
        .output()
        .unwrap();
    assert!(!report.status.success(), "a report of nothing succeeded");
    let start = Instant::now();
    let children: Vec<_> = ["0/2", "1/2"]
        .iter()
        .map(|s| {
            experiment_cmd(&plan, &sharded, &["--shard", s])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let logs: Vec<String> = children
        .into_iter()
        .map(|c| ok(c.wait_with_output().unwrap(), "a shard"))
        .collect();
    eprintln!("two shards at once: {:.1} s", start.elapsed().as_secs_f64());
    // Shard 0 took runs 0 and 2, shard 1 runs 1 and 3; neither wrote a report.
    assert!(logs[0].contains("2 runs: 2 trained") && logs[0].contains("no report"));
    assert!(logs[0].contains("cartoongan seed 0") && logs[0].contains("lsgan seed 0"));
    assert!(logs[1].contains("cartoongan seed 1") && logs[1].contains("lsgan seed 1"));
    assert!(!sharded.join("report").exists());
    ok(
        experiment_cmd(&plan, &sharded, &["--report"])
            .output()
            .unwrap(),
        "--report",
    );
    assert_same_tables(&tables(&sharded), &reference);

    // A report with a run unfinished names it and keeps the others.
    let finished = sharded.join("runs/lsgan/seed-1/finished.json");
    let aside = finished.with_extension("aside");
    std::fs::rename(&finished, &aside).unwrap();
    let log = ok(
        experiment_cmd(&plan, &sharded, &["--report"])
            .output()
            .unwrap(),
        "--report with a run missing",
    );
    assert!(log.contains("missing (not finished yet): lsgan/1"), "{log}");
    let md = std::fs::read_to_string(sharded.join("report/results.md")).unwrap();
    assert!(
        md.contains("Incomplete: 1 run(s)") && md.contains("lsgan/1"),
        "{md}"
    );
    std::fs::rename(&aside, &finished).unwrap();

    // A run held by another process (here: this one) is not touched by a shard.
    let lock = RunLock::try_acquire(&sharded.join("runs/lsgan/seed-0.lock"))
        .unwrap()
        .unwrap();
    let out = experiment_cmd(&plan, &sharded, &["--shard", "0/2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains("lsgan/0 held by")
            && stderr.contains(&format!("pid={}", std::process::id())),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 runs: 0 trained, 0 resumed, 1 reused"),
        "{stderr}"
    );
    drop(lock);

    slurm_part(tmp.path(), &plan, &reference);
}

/// Stops the test cluster when dropped.
struct Cluster(PathBuf);

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/slurm-test-cluster.sh"))
            .arg("stop")
            .arg(&self.0)
            .status();
    }
}

fn skip_or_fail(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and Slurm cannot start: {why}");
    }
    eprintln!("SKIPPED the Slurm part: {why}");
}

fn slurm_part(tmp: &Path, plan: &Path, reference: &(String, String)) {
    let dir = tmp.join("slurm-cluster");
    let start = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/slurm-test-cluster.sh"))
        .arg("start")
        .arg(&dir)
        .output();
    let start = match start {
        Ok(o) => o,
        Err(e) => return skip_or_fail(&format!("cannot run bash: {e}")),
    };
    let _cluster = Cluster(dir.clone());
    let stdout = String::from_utf8_lossy(&start.stdout).into_owned();
    let Some(conf) = stdout.lines().find_map(|l| l.strip_prefix("SLURM_CONF=")) else {
        return skip_or_fail(&String::from_utf8_lossy(&start.stderr));
    };
    let conf = conf.to_string();

    let out = tmp.join("slurm");
    let submitted = experiment_cmd(plan, &out, &["--slurm", "--submit", "--time", "30"])
        .env("SLURM_CONF", &conf)
        .output()
        .unwrap();
    let ids = String::from_utf8_lossy(&submitted.stdout).into_owned();
    ok(submitted, "--slurm --submit");
    let id = |what: &str| {
        ids.lines()
            .find_map(|l| l.strip_prefix(what))
            .unwrap_or_else(|| panic!("no '{what}' in {ids}"))
            .trim()
            .to_string()
    };
    let (array, report) = (id("array job "), id("report job "));
    let array_script = std::fs::read_to_string(out.join("slurm/array.sbatch")).unwrap();
    assert!(
        array_script.contains("#SBATCH --array=0-3\n"),
        "{array_script}"
    );

    // Wait (bounded) until neither job is queued any more.
    let start = Instant::now();
    loop {
        let q = Command::new("squeue")
            .args(["-h", "-o", "%i %T %r", "-j", &format!("{array},{report}")])
            .env("SLURM_CONF", &conf)
            .output()
            .unwrap();
        let queue = String::from_utf8_lossy(&q.stdout).into_owned();
        if queue.trim().is_empty() && out.join("report/report.md").exists() {
            break;
        }
        let logs = || {
            std::fs::read_dir(out.join("slurm/logs"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| {
                    format!(
                        "--- {}\n{}",
                        e.path().display(),
                        std::fs::read_to_string(e.path()).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(
            !queue.contains("DependencyNeverSatisfied"),
            "an array task failed:\n{queue}\n{}",
            logs()
        );
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "Slurm jobs not done after 15 min:\n{queue}\n{}",
            logs()
        );
        if queue.trim().is_empty() {
            panic!("jobs left the queue without a report:\n{}", logs());
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    eprintln!(
        "Slurm job array and report: {:.1} s",
        start.elapsed().as_secs_f64()
    );
    for run in RUNS {
        let (v, s) = run.split_once('/').unwrap();
        assert!(
            out.join(format!("runs/{v}/seed-{s}/finished.json"))
                .is_file()
        );
    }
    assert_same_tables(&tables(&out), reference);
}
