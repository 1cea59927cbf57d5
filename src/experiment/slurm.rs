//! `toongan experiment --slurm`: the plan as a Slurm job array, one array task per run (task
//! K runs `--shard K/N`, N the number of runs, so task K trains line K+1 of `--list`), and a
//! report job that starts once every task has succeeded (`--dependency=afterok:<array>`).
//! [`write_jobs`] writes the scripts (and a `submit.sh` that submits both); [`submit`] runs
//! `sbatch` for them. Slurm, not toongan, schedules: toongan only says what each task runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ExperimentError;

/// Resources asked of Slurm for each array task (unset: the cluster's defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--gpus-per-task` (Slurm sets `CUDA_VISIBLE_DEVICES`, so the task uses `--device cuda`).
    pub gpus_per_task: Option<u32>,
    /// `--cpus-per-task`.
    pub cpus_per_task: Option<u32>,
    /// `--time` (e.g. `2-00:00:00`), for every task and the report job.
    pub time: Option<String>,
}

/// The scripts [`write_jobs`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmJobs {
    /// The job array: one task per run.
    pub array_script: PathBuf,
    /// The report job.
    pub report_script: PathBuf,
    /// Submits both, the report after the array (`sh submit.sh`).
    pub submit_script: PathBuf,
    /// Array tasks (runs).
    pub tasks: usize,
}

/// The job ids [`submit`] got from `sbatch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedJobs {
    /// The job array.
    pub array: String,
    /// The report job (starts after every array task succeeded).
    pub report: String,
}

fn quote(word: &str) -> Result<String, ExperimentError> {
    shlex::try_quote(word)
        .map(|q| q.into_owned())
        .map_err(|e| ExperimentError::Slurm(format!("cannot quote '{word}' for the shell: {e}")))
}

fn directives(name: &str, output: &Path, options: &SlurmOptions, gpus: bool) -> String {
    let mut s = format!(
        "#SBATCH --job-name={name}\n#SBATCH --ntasks=1\n#SBATCH --output={}\n",
        output.display()
    );
    if let Some(p) = &options.partition {
        s += &format!("#SBATCH --partition={p}\n");
    }
    if let (true, Some(g)) = (gpus, options.gpus_per_task) {
        s += &format!("#SBATCH --gpus-per-task={g}\n");
    }
    if let (true, Some(c)) = (gpus, options.cpus_per_task) {
        s += &format!("#SBATCH --cpus-per-task={c}\n");
    }
    if let Some(t) = &options.time {
        s += &format!("#SBATCH --time={t}\n");
    }
    s
}

/// Writes `array.sbatch`, `report.sbatch` and `submit.sh` into `dir` (logs go to
/// `dir/logs/`). `command` is the `toongan experiment PLAN --out OUT ...` invocation every
/// job runs (absolute paths: jobs start in another folder, maybe on another node); the array
/// tasks add `--shard $SLURM_ARRAY_TASK_ID/<tasks>`, the report job `--report`.
pub fn write_jobs(
    dir: &Path,
    name: &str,
    command: &[String],
    tasks: usize,
    options: &SlurmOptions,
) -> Result<SlurmJobs, ExperimentError> {
    if tasks == 0 {
        return Err(ExperimentError::Slurm("the plan has no runs".into()));
    }
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| ExperimentError::io(&logs, e))?;
    let cmd = command
        .iter()
        .map(|w| quote(w))
        .collect::<Result<Vec<_>, _>>()?
        .join(" ");
    let job = |n: &str| format!("toongan-{name}-{n}");
    let array = format!(
        "#!/bin/bash\n\
         # Written by `toongan experiment --slurm`: one array task per run; task K trains,\n\
         # cartoonizes and scores run K (line K+1 of `toongan experiment PLAN --list`).\n\
         {}#SBATCH --array=0-{}\n\
         set -eu\n\
         exec {cmd} --shard \"${{SLURM_ARRAY_TASK_ID}}/{tasks}\"\n",
        directives(&job("runs"), &logs.join("run-%A_%a.out"), options, true),
        tasks - 1,
    );
    let report = format!(
        "#!/bin/bash\n\
         # Written by `toongan experiment --slurm`: the report of the finished runs; submit it\n\
         # with --dependency=afterok:<array job id> (submit.sh does).\n\
         {}set -eu\n\
         exec {cmd} --report\n",
        directives(&job("report"), &logs.join("report-%j.out"), options, false),
    );
    let array_script = dir.join("array.sbatch");
    let report_script = dir.join("report.sbatch");
    let submit = format!(
        "#!/bin/sh\n\
         # Submits the job array, then the report job to start after all its tasks succeeded.\n\
         set -eu\n\
         array=$(sbatch --parsable {})\n\
         array=${{array%%;*}}\n\
         report=$(sbatch --parsable --dependency=afterok:\"$array\" {})\n\
         echo \"array job $array, report job ${{report%%;*}}\"\n",
        quote(&array_script.display().to_string())?,
        quote(&report_script.display().to_string())?,
    );
    let submit_script = dir.join("submit.sh");
    for (path, text) in [
        (&array_script, array),
        (&report_script, report),
        (&submit_script, submit),
    ] {
        crate::imageio::atomic_write(path, text.as_bytes())
            .map_err(|e| ExperimentError::io(path, e))?;
    }
    Ok(SlurmJobs {
        array_script,
        report_script,
        submit_script,
        tasks,
    })
}

/// `sbatch --parsable [extra] script`, returning the job id.
fn sbatch(script: &Path, extra: &[String]) -> Result<String, ExperimentError> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .map_err(|e| {
            ExperimentError::Slurm(format!(
                "cannot run sbatch ({e}): submit from a Slurm login node, or run {} there",
                script.with_file_name("submit.sh").display()
            ))
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(ExperimentError::Slurm(format!(
            "sbatch {} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    parse_job_id(&stdout).ok_or_else(|| {
        ExperimentError::Slurm(format!(
            "sbatch {} printed no job id: {stdout}",
            script.display()
        ))
    })
}

/// The job id of `sbatch --parsable`'s output (`<id>` or `<id>;<cluster>`).
pub fn parse_job_id(stdout: &str) -> Option<String> {
    let id = stdout.trim().split(';').next()?.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

/// Submits the array, then the report job with `--dependency=afterok:<array>`.
pub fn submit(jobs: &SlurmJobs) -> Result<SubmittedJobs, ExperimentError> {
    let array = sbatch(&jobs.array_script, &[])?;
    let report = sbatch(
        &jobs.report_script,
        &[format!("--dependency=afterok:{array}")],
    )?;
    Ok(SubmittedJobs { array, report })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_array_has_one_task_per_run_and_the_report_runs_the_report() {
        let tmp = tempfile::tempdir().unwrap();
        let command: Vec<String> = ["/opt/toongan", "experiment", "/data/my plan.toml"]
            .map(String::from)
            .to_vec();
        let options = SlurmOptions {
            partition: Some("gpu".into()),
            gpus_per_task: Some(1),
            cpus_per_task: None,
            time: Some("1-00:00:00".into()),
        };
        let jobs = write_jobs(tmp.path(), "study", &command, 27, &options).unwrap();
        let array = std::fs::read_to_string(&jobs.array_script).unwrap();
        assert!(array.contains("#SBATCH --array=0-26\n"), "{array}");
        assert!(array.contains("#SBATCH --partition=gpu\n"), "{array}");
        assert!(array.contains("#SBATCH --gpus-per-task=1\n"), "{array}");
        assert!(array.contains("#SBATCH --time=1-00:00:00\n"), "{array}");
        assert!(
            array.contains(
                "exec /opt/toongan experiment '/data/my plan.toml' --shard \
                 \"${SLURM_ARRAY_TASK_ID}/27\"\n"
            ),
            "{array}"
        );
        let report = std::fs::read_to_string(&jobs.report_script).unwrap();
        assert!(
            report.ends_with("'/data/my plan.toml' --report\n"),
            "{report}"
        );
        assert!(!report.contains("--gpus-per-task"), "{report}");
        let submit = std::fs::read_to_string(&jobs.submit_script).unwrap();
        assert!(
            submit.contains("--dependency=afterok:\"$array\""),
            "{submit}"
        );
        assert!(tmp.path().join("logs").is_dir());
    }

    #[test]
    fn job_ids_are_read_from_sbatch_parsable() {
        assert_eq!(parse_job_id("42\n").as_deref(), Some("42"));
        assert_eq!(parse_job_id("42;cluster\n").as_deref(), Some("42"));
        assert_eq!(parse_job_id("Submitted batch job 42"), None);
        assert_eq!(parse_job_id(""), None);
    }
}
