//! Watching a command's durability syscalls with strace (Debian package `strace`, which
//! `.ci/run` installs): which files and folders it fsyncs, and in what order with its renames.
//! A crash or power loss after a rename must find the renamed file's data on disk (fsynced
//! before the rename) and the rename itself on disk (the folder fsynced after it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The successful fsync and rename calls of a traced run, in the order they returned.
pub struct Trace {
    events: Vec<Event>,
}

#[derive(Debug)]
enum Event {
    /// `fsync` or `fdatasync` of the file or folder at this path.
    Fsync(PathBuf),
    /// A rename (`rename`, `renameat`, `renameat2`) from one path to another.
    Rename { from: PathBuf, to: PathBuf },
}

/// Runs `cmd` under `strace -f` (all threads and children), writing the log to `log`.
/// `None` (after a message) where strace is missing outside CI.
pub fn traced(cmd: &Command, log: &Path) -> Option<(Output, Trace)> {
    let strace = super::debian_tool("strace", "strace")?;
    let mut traced = Command::new(strace);
    // --seccomp-bpf stops only at the traced calls, so training threads run at full speed;
    // -y prints each descriptor's path; -s 4096 keeps paths whole.
    traced
        .args(["-f", "-qq", "--seccomp-bpf", "-y", "-s", "4096"])
        .args([
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2",
            "-o",
        ])
        .arg(log)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => traced.env(key, v),
            None => traced.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        traced.current_dir(dir);
    }
    let output = traced.output().expect("run strace");
    let text = std::fs::read_to_string(log).expect("strace log");
    Some((output, Trace::parse(&text)))
}

/// The text between the first `<` and the `>` that closes it before `)`: strace -y's path
/// of a descriptor argument, as in `fsync(3</tmp/x/out.png>) = 0`.
fn descriptor_path(call: &str) -> Option<PathBuf> {
    let start = call.find('<')? + 1;
    let end = call.rfind(">)")?;
    Some(PathBuf::from(&call[start..end]))
}

/// The quoted strings of a call, in order (`"from"` and `"to"` of a rename).
fn quoted(call: &str) -> Vec<String> {
    call.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

impl Trace {
    fn parse(text: &str) -> Self {
        let mut events = Vec::new();
        for line in text.lines() {
            // "<pid> <call>(...) = 0"; failures and unfinished/resumed halves are skipped
            // (`-f` splits a call another thread interrupts into two lines).
            let Some(call) = line.split_once(' ').map(|(_, c)| c.trim_start()) else {
                continue;
            };
            if !call.trim_end().ends_with("= 0") || call.contains("<unfinished") {
                continue;
            }
            if call.starts_with("fsync(") || call.starts_with("fdatasync(") {
                if let Some(path) = descriptor_path(call) {
                    events.push(Event::Fsync(path));
                }
            } else if call.starts_with("rename") {
                let names = quoted(call);
                if let [.., from, to] = names.as_slice() {
                    events.push(Event::Rename {
                        from: from.into(),
                        to: to.into(),
                    });
                }
            }
        }
        Self { events }
    }

    /// The index and source of the last rename onto `to`.
    pub fn rename_onto(&self, to: &Path) -> Option<(usize, PathBuf)> {
        self.events
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, e)| match e {
                Event::Rename { from, to: t } if t == to => Some((i, from.clone())),
                _ => None,
            })
    }

    /// Whether `path` was fsynced at an index in `range`.
    pub fn fsynced(&self, path: &Path, range: std::ops::Range<usize>) -> bool {
        self.events[range.start.min(self.events.len())..range.end.min(self.events.len())]
            .iter()
            .any(|e| matches!(e, Event::Fsync(p) if p == path))
    }

    /// Whether `path`'s data was on disk before index `at`: `path` fsynced, or renamed into
    /// place from a file that was fsynced before that rename (an atomic write).
    pub fn durable_before(&self, path: &Path, at: usize) -> bool {
        self.fsynced(path, 0..at)
            || self.events[..at.min(self.events.len())]
                .iter()
                .enumerate()
                .any(|(i, e)| match e {
                    Event::Rename { from, to } if to == path => self.fsynced(from, 0..i),
                    _ => false,
                })
    }

    /// The index after the last event, to end ranges "after".
    pub fn end(&self) -> usize {
        self.events.len()
    }

    /// Every event, one per line, for failure messages.
    pub fn describe(&self) -> String {
        self.events
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{i}: {e:?}\n"))
            .collect()
    }
}
