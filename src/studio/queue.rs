//! The cartoonize queue: at most `workers` jobs run at once (never more than the machine's
//! cores), at most `max_waiting` more wait in arrival order, and every job can be looked up
//! by the id its client chose to show where it stands (queued behind n jobs, or k of n tiles
//! done). A job whose client goes away or runs past the time limit is cancelled.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;

use super::StudioError;
use super::job::Progress;

/// Where a job stands, as `GET /api/progress/{job}` answers it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a worker, behind `ahead` other waiting jobs.
    Queued {
        /// Jobs waiting before this one.
        ahead: usize,
    },
    /// Running: `done` of `total` tiles translated (`total` is 0 while decoding).
    Running {
        /// Tiles done.
        done: usize,
        /// Tiles planned.
        total: usize,
    },
}

struct Entry {
    ticket: u64,
    progress: Arc<Progress>,
    running: bool,
}

/// A bounded queue of blocking jobs.
pub struct JobQueue {
    permits: Arc<Semaphore>,
    workers: usize,
    max_waiting: usize,
    timeout: Duration,
    tickets: AtomicU64,
    jobs: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("workers", &self.workers)
            .field("max_waiting", &self.max_waiting)
            .finish_non_exhaustive()
    }
}

/// Removes a job from the table when its request ends, however it ends, and cancels it if it
/// had not finished (client gone, timeout).
struct Registration<'a> {
    queue: &'a JobQueue,
    key: String,
    progress: Arc<Progress>,
    finished: bool,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.progress.cancel();
        }
        self.queue.lock().remove(&self.key);
    }
}

impl JobQueue {
    /// A queue running up to `workers` jobs at once (clamped to 1..=cores) with up to
    /// `max_waiting` more waiting; each job may run for `timeout`.
    pub fn new(workers: usize, max_waiting: usize, timeout: Duration) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = workers.clamp(1, cores);
        Self {
            permits: Arc::new(Semaphore::new(workers)),
            workers,
            max_waiting,
            timeout,
            tickets: AtomicU64::new(0),
            jobs: Mutex::new(HashMap::new()),
        }
    }

    /// Jobs that may run at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the job the client named `id` stands, if it is queued or running.
    pub fn state(&self, id: &str) -> Option<JobState> {
        let jobs = self.lock();
        let me = jobs.get(id)?;
        Some(if me.running {
            let (done, total) = me.progress.tiles();
            JobState::Running { done, total }
        } else {
            let ahead = jobs
                .values()
                .filter(|e| !e.running && e.ticket < me.ticket)
                .count();
            JobState::Queued { ahead }
        })
    }

    /// Queues `work` under the client's `id` (a random one when none is given), waits for a
    /// worker, runs it on the blocking pool and returns its result.
    pub async fn run<T: Send + 'static>(
        &self,
        id: Option<String>,
        work: impl FnOnce(&Progress) -> Result<T, StudioError> + Send + 'static,
    ) -> Result<T, StudioError> {
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        let key = id.unwrap_or_else(|| format!("anonymous-{ticket}"));
        let progress = Arc::new(Progress::default());
        {
            let mut jobs = self.lock();
            let waiting = jobs.values().filter(|e| !e.running).count();
            if waiting >= self.max_waiting {
                return Err(StudioError::QueueFull(waiting));
            }
            if jobs.contains_key(&key) {
                return Err(StudioError::BadRequest(format!(
                    "job id {key:?} is in use; send a fresh one"
                )));
            }
            jobs.insert(
                key.clone(),
                Entry {
                    ticket,
                    progress: progress.clone(),
                    running: false,
                },
            );
        }
        let mut registration = Registration {
            queue: self,
            key: key.clone(),
            progress: progress.clone(),
            finished: false,
        };
        let timeout = self.timeout;
        let result = tokio::time::timeout(timeout, async {
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| StudioError::QueueFull(0))?;
            if let Some(e) = self.lock().get_mut(&key) {
                e.running = true;
            }
            let p = progress.clone();
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                work(&p)
            })
            .await
            .map_err(|e| StudioError::Model(format!("the job failed: {e}")))?
        })
        .await;
        registration.finished = result.is_ok();
        result.unwrap_or(Err(StudioError::Timeout(timeout.as_secs())))
    }
}
