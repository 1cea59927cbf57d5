//! Locks that let several `toongan experiment --shard` processes (on one machine or many
//! sharing a filesystem) work in one experiment folder: one lock per run, so a run is never
//! trained by two processes at once, and one for the shared preparation (test set, tiny
//! training copies).
//!
//! A lock is an advisory `flock(2)` on a file (through [`std::fs::File::try_lock`]), not the
//! file's existence: the kernel releases it when the holder exits, however it exits (a crash,
//! `kill -9`, Slurm's time limit), so a dead holder's lock is recovered by the next process
//! without any stale-lock guessing. The file holds the holder's host, pid and start time,
//! only so that a refused process can say who holds it.
//!
//! On NFS, Linux emulates `flock` with POSIX byte-range locks held by the server (NLM for
//! NFSv3, the protocol's own leases for NFSv4): locks then work across nodes; a lock of a node
//! that dies is released when its NFSv4 lease expires (typically 90 s) or, on NFSv3, when the
//! node reboots and its `statd` notifies the server. Lustre and GPFS support `flock` when
//! mounted with it (`-o flock` on Lustre). A filesystem without lock support makes
//! [`RunLock::try_acquire`] fail with the error the kernel gives (`ENOLCK`), never silently.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::ExperimentError;

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

/// Who holds a lock, as its file says: `host=... pid=... since=<unix seconds>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder(pub String);

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.trim().is_empty() {
            f.write_str("another process (it has not written its name yet)")
        } else {
            f.write_str(self.0.trim())
        }
    }
}

fn open(path: &Path) -> Result<File, ExperimentError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ExperimentError::io(dir, e))?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| ExperimentError::io(path, e))
}

/// This process, as written into a lock file.
pub fn this_process() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("host={host} pid={} since={since}", std::process::id())
}

impl RunLock {
    /// Takes the lock at `path` if no other process holds it; `Ok(Err(holder))` names the
    /// holder when one does.
    pub fn try_acquire(path: &Path) -> Result<Result<Self, Holder>, ExperimentError> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                return Ok(Err(Holder(text)));
            }
            Err(TryLockError::Error(e)) => {
                return Err(ExperimentError::io(
                    path,
                    format!(
                        "cannot lock ({e}); the experiment folder must be on a filesystem \
                         with flock support (local, NFS, Lustre mounted with -o flock)"
                    ),
                ));
            }
        }
        let lock = Self {
            file,
            path: path.to_path_buf(),
        };
        lock.write_holder()?;
        Ok(Ok(lock))
    }

    /// Waits until the lock at `path` is free, then takes it.
    pub fn acquire(path: &Path) -> Result<Self, ExperimentError> {
        let file = open(path)?;
        file.lock().map_err(|e| {
            ExperimentError::io(
                path,
                format!("cannot lock ({e}); use a filesystem with flock support"),
            )
        })?;
        let lock = Self {
            file,
            path: path.to_path_buf(),
        };
        lock.write_holder()?;
        Ok(lock)
    }

    fn write_holder(&self) -> Result<(), ExperimentError> {
        let mut f = &self.file;
        self.file
            .set_len(0)
            .and_then(|()| f.write_all(format!("{}\n", this_process()).as_bytes()))
            .map_err(|e| ExperimentError::io(&self.path, e))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_refused_naming_its_holder_and_freed_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("runs/a/seed-0.lock");
        let held = RunLock::try_acquire(&path).unwrap().unwrap();
        // flock locks belong to the open file, so a second open in this process conflicts
        // exactly as another process would.
        let holder = RunLock::try_acquire(&path).unwrap().unwrap_err();
        assert!(
            holder
                .0
                .contains(&format!("pid={} since=", std::process::id())),
            "{holder}"
        );
        drop(held);
        assert!(RunLock::try_acquire(&path).unwrap().is_ok());
    }

    #[test]
    fn a_killed_holders_lock_is_recovered() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("seed-1.lock");
        std::fs::write(&path, "").unwrap();
        // util-linux flock(1) takes the same flock(2) lock in a child process, which is then
        // killed (`-o`: the lock is held by flock itself, not by the `sleep` it starts).
        let Ok(mut child) = std::process::Command::new("flock")
            .arg("-o")
            .arg(&path)
            .args(["sleep", "30"])
            .spawn()
        else {
            eprintln!("SKIPPED: flock(1) (util-linux) is not installed");
            return;
        };
        let start = std::time::Instant::now();
        while RunLock::try_acquire(&path).unwrap().is_ok() {
            assert!(
                start.elapsed().as_secs() < 20,
                "the child never took the lock"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            RunLock::try_acquire(&path).unwrap().is_ok(),
            "the kernel did not release a killed holder's lock"
        );
    }
}
