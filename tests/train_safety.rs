//! Training runs against mistakes and faults (issue 13, items 7-10): an existing run is never
//! overwritten or silently resumed under a new config, a run without `latest` is refused with
//! the command that picks a checkpoint, a damaged checkpoint falls back to the previous one,
//! SIGTERM saves like Ctrl-C, and SIGKILL at random moments never loses more than the steps
//! since the last checkpoint.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::photo;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use toongan::train::{TrainState, read_state, verify_checkpoint};
use toongan::weights::resolve_generator_path;

/// 4 photos and 4 "cartoons" (other photos) at 64 px: steps take milliseconds.
fn make_data(root: &Path) -> (PathBuf, PathBuf) {
    let names = [
        "cat.png",
        "castle.jpg",
        "candles.jpg",
        "bee-flower.jpg",
        "bridge-night.jpg",
        "citrus-small.jpg",
        "astronaut.png",
        "blossom-tall.jpg",
    ];
    let (photos, cartoons) = (root.join("photos"), root.join("cartoons"));
    for (i, name) in names.iter().enumerate() {
        let dir = if i < 4 { &photos } else { &cartoons };
        std::fs::create_dir_all(dir).unwrap();
        let img = toongan::train::load_resized(&photo(name), 64).unwrap();
        img.save(dir.join(format!("i{i}.png"))).unwrap();
    }
    (photos, cartoons)
}

/// `toongan train` for a tiny CycleGAN run in `run` (new with `--out`, or `--resume`).
fn train_cmd(photos: &Path, cartoons: &Path, run: &Path, resume: bool, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_toongan"));
    cmd.arg("train");
    if resume {
        cmd.arg("--resume").arg(run);
    } else {
        cmd.args(["--model", "cyclegan", "--preset", "tiny", "--photos"])
            .arg(photos)
            .arg("--cartoons")
            .arg(cartoons)
            .arg("--out")
            .arg(run);
    }
    cmd.arg("--quiet").args(extra).stdin(Stdio::null());
    cmd
}

fn output(mut cmd: Command) -> Output {
    cmd.output().expect("run toongan train")
}

fn err(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The state of the checkpoint `latest` names, after checking it is complete.
fn latest_state(run: &Path) -> TrainState {
    let generator = resolve_generator_path(run).expect("latest resolves");
    let dir = generator.parent().unwrap();
    verify_checkpoint(dir).expect("latest checkpoint complete");
    read_state(dir).expect("state")
}

/// The last step in the metrics log (written every step, before that step's checkpoint).
fn last_logged_step(run: &Path) -> usize {
    toongan::train::MetricsLog::new(run)
        .read()
        .map(|log| log.iter().map(|r| r.step).max().unwrap_or(0))
        .unwrap_or(0)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig}");
}

/// Items 7 and 8: `--out` on a run is refused; a resume whose config cannot load leaves
/// `config.toml` as it was; a run with checkpoints but no `latest` is refused with the
/// command that picks one, and its checkpoints are left alone.
#[test]
fn existing_runs_are_never_overwritten_or_restarted() {
    let tmp = tempfile::tempdir().unwrap();
    let (photos, cartoons) = make_data(tmp.path());
    let run = tmp.path().join("run");
    let first = output(train_cmd(
        &photos,
        &cartoons,
        &run,
        false,
        &["--epochs", "1"],
    ));
    assert!(first.status.success(), "{}", err(&first));
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();

    // Item 7: a second `--out RUN` (other seed) is refused and changes nothing.
    let again = output(train_cmd(
        &photos,
        &cartoons,
        &run,
        false,
        &["--epochs", "2", "--seed", "9"],
    ));
    assert_eq!(again.status.code(), Some(2), "{}", err(&again));
    assert!(err(&again).contains("--resume"), "{}", err(&again));
    assert_eq!(
        std::fs::read_to_string(run.join("config.toml")).unwrap(),
        config
    );

    // A resume under another model fails to load and leaves config.toml as it was, so the
    // run still resumes.
    let other = output(train_cmd(
        &photos,
        &cartoons,
        &run,
        true,
        &["--model", "cartoongan", "--epochs", "2"],
    ));
    assert!(!other.status.success(), "{}", err(&other));
    assert_eq!(
        std::fs::read_to_string(run.join("config.toml")).unwrap(),
        config
    );
    let resumed = output(train_cmd(
        &photos,
        &cartoons,
        &run,
        true,
        &["--epochs", "2"],
    ));
    assert!(resumed.status.success(), "{}", err(&resumed));
    assert_eq!(latest_state(&run).global_step, 4);

    // Item 8: no `latest` but checkpoints: refused, naming the command; nothing replaced.
    std::fs::remove_file(run.join("latest")).unwrap();
    let before: Vec<_> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let no_latest = output(train_cmd(
        &photos,
        &cartoons,
        &run,
        true,
        &["--epochs", "3"],
    ));
    let e = err(&no_latest);
    assert_eq!(no_latest.status.code(), Some(2), "{e}");
    assert!(
        e.contains("echo checkpoints/step-000000004/generator.safetensors >"),
        "{e}"
    );
    let after: Vec<_> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after);
    // The printed command works.
    std::fs::write(
        run.join("latest"),
        "checkpoints/step-000000004/generator.safetensors\n",
    )
    .unwrap();
    let fixed = output(train_cmd(
        &photos,
        &cartoons,
        &run,
        true,
        &["--epochs", "3"],
    ));
    assert!(fixed.status.success(), "{}", err(&fixed));
    assert_eq!(latest_state(&run).global_step, 6);
}

/// Item 10: a truncated newest checkpoint is reported as truncated and the run resumes from
/// the previous kept one.
#[test]
fn a_truncated_checkpoint_falls_back_to_the_previous_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (photos, cartoons) = make_data(tmp.path());
    let run = tmp.path().join("run");
    let first = output(train_cmd(
        &photos,
        &cartoons,
        &run,
        false,
        &[
            "--epochs",
            "2",
            "--set",
            "output.checkpoint_every=1",
            "--set",
            "output.keep_checkpoints=3",
        ],
    ));
    assert!(first.status.success(), "{}", err(&first));
    let newest = resolve_generator_path(&run).unwrap();
    let dir = newest.parent().unwrap().to_path_buf();
    assert!(dir.ends_with("step-000000004"));
    // Truncate the biggest file of the newest checkpoint, as a power loss could.
    let victim = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 3]).unwrap();

    let resumed = output(train_cmd(
        &photos,
        &cartoons,
        &run,
        true,
        &["--epochs", "3"],
    ));
    let e = err(&resumed);
    assert!(resumed.status.success(), "{e}");
    assert!(e.contains("truncated or corrupt"), "{e}");
    assert!(!e.contains("0.14"), "not reported as a format change: {e}");
    assert!(
        e.contains("previous kept checkpoint") && e.contains("step-000000003"),
        "{e}"
    );
    assert_eq!(latest_state(&run).global_step, 6);
}

/// Item 9: SIGTERM (Slurm, systemd, docker stop) saves a checkpoint at the step it stopped
/// on, like Ctrl-C: no step is lost (no periodic checkpoints here, so only that save exists).
#[cfg(unix)]
#[test]
fn sigterm_saves_a_checkpoint_and_loses_no_step() {
    let tmp = tempfile::tempdir().unwrap();
    let (photos, cartoons) = make_data(tmp.path());
    let run = tmp.path().join("run");
    let mut child = train_cmd(&photos, &cartoons, &run, false, &["--epochs", "1000"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while last_logged_step(&run) < 3 {
        assert!(Instant::now() < deadline, "training made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "interrupted exit code");
    let state = latest_state(&run);
    assert_eq!(state.global_step, last_logged_step(&run), "no step lost");
    let resumed = output(train_cmd(
        &photos,
        &cartoons,
        &run,
        true,
        &["--epochs", &(state.global_step / 2 + 1).to_string()],
    ));
    assert!(resumed.status.success(), "{}", err(&resumed));
}

/// SIGKILL at 20 seeded random moments of one run, each followed by a resume: the checkpoint
/// `latest` names is always complete, at most `checkpoint_every` steps behind the last step
/// done, and the run finishes with every step counted.
#[cfg(unix)]
#[test]
fn sigkill_at_twenty_random_moments_never_loses_more_than_a_checkpoint_interval() {
    const EVERY: usize = 2;
    const EPOCHS: usize = 60;
    let tmp = tempfile::tempdir().unwrap();
    let (photos, cartoons) = make_data(tmp.path());
    let run = tmp.path().join("run");
    let every = format!("output.checkpoint_every={EVERY}");
    let extra = ["--epochs", "60", "--set", &every];
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut kills = 0;
    let mut previous = 0usize;
    while kills < 20 {
        // A run killed after writing its config holds a run: continue it with --resume.
        let resume = run.join("config.toml").exists();
        let mut child = train_cmd(&photos, &cartoons, &run, resume, &extra)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait = Duration::from_millis(rng.random_range(200..1500));
        std::thread::sleep(wait);
        if child.try_wait().unwrap().is_some() {
            break; // finished before this kill
        }
        signal(&child, "-KILL");
        child.wait().unwrap();
        kills += 1;
        if !run.join("latest").exists() {
            // Killed before the first checkpoint: nothing to lose yet.
            assert!(last_logged_step(&run) < EVERY + 1);
            continue;
        }
        let state = latest_state(&run);
        let done = last_logged_step(&run);
        assert!(
            state.global_step + EVERY >= done,
            "kill {kills}: checkpoint at {} but {done} steps were done",
            state.global_step
        );
        assert!(
            state.global_step >= previous,
            "kill {kills}: went backwards"
        );
        previous = state.global_step;
    }
    assert!(
        kills >= 10,
        "the run was too fast to kill: only {kills} kills"
    );
    let finish = output(train_cmd(&photos, &cartoons, &run, true, &extra));
    assert!(finish.status.success(), "{}", err(&finish));
    assert_eq!(latest_state(&run).global_step, EPOCHS * 2);
    let log = toongan::train::MetricsLog::new(&run).read().unwrap();
    let steps: Vec<usize> = log.iter().map(|r| r.step).collect();
    assert_eq!(
        steps,
        (1..=EPOCHS * 2).collect::<Vec<_>>(),
        "every step logged once"
    );
}

/// Item 10: every file of a checkpoint is fsynced, and its folder, before the folder is renamed
/// into place; `checkpoints/` is fsynced after that rename; `latest` is written the same way
/// (its data fsynced before its rename, the run folder after). Seen with strace.
#[cfg(target_os = "linux")]
#[test]
fn checkpoints_and_latest_are_fsynced_around_their_renames() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let (photos, cartoons) = make_data(&root);
    let run = root.join("run");
    let cmd = train_cmd(
        &photos,
        &cartoons,
        &run,
        false,
        &["--epochs", "1", "--set", "output.checkpoint_every=1"],
    );
    let Some((out, trace)) = common::strace::traced(&cmd, &root.join("strace.log")) else {
        return;
    };
    assert!(out.status.success(), "{}", err(&out));
    let checkpoint = resolve_generator_path(&run)
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let checkpoints = checkpoint.parent().unwrap().to_path_buf();
    let (at, staged) = trace.rename_onto(&checkpoint).unwrap_or_else(|| {
        panic!(
            "no rename onto {}:\n{}",
            checkpoint.display(),
            trace.describe()
        )
    });
    assert_eq!(staged.parent(), Some(checkpoints.as_path()));
    let files: Vec<_> = std::fs::read_dir(&checkpoint)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(files.len() >= 3, "checkpoint files: {files:?}");
    for name in &files {
        let staged_file = staged.join(name);
        assert!(
            trace.durable_before(&staged_file, at),
            "{} not fsynced before the checkpoint's rename:\n{}",
            staged_file.display(),
            trace.describe()
        );
    }
    assert!(
        trace.fsynced(&staged, 0..at),
        "checkpoint folder not fsynced"
    );
    assert!(
        trace.fsynced(&checkpoints, at + 1..trace.end()),
        "checkpoints/ not fsynced after the rename:\n{}",
        trace.describe()
    );
    let latest = run.join("latest");
    let (at, from) = trace
        .rename_onto(&latest)
        .expect("latest renamed into place");
    assert!(
        trace.fsynced(&from, 0..at),
        "latest's data not fsynced first"
    );
    assert!(
        trace.fsynced(&run, at + 1..trace.end()),
        "the run folder not fsynced after latest's rename"
    );
}
