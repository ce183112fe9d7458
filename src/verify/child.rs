//! One isolated child process: its own session and process group (so the whole tree can
//! be killed, loky workers included), killed if artifact dies, an optional address-space
//! limit, a timeout, and a sampler that watches the process tree through /proc.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub timeout: Duration,
    /// RLIMIT_AS for the child, in bytes.
    pub memory: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Exited(i32),
    /// Killed by a signal (SIGKILL from the OOM killer, SIGSEGV, SIGABRT).
    Signaled(i32),
    TimedOut,
}

#[derive(Clone, Debug)]
pub struct Run {
    pub outcome: Outcome,
    pub wall: Duration,
    /// The most resident memory of the whole process tree at once.
    pub peak_rss: u64,
    /// The most processes in the tree besides the child itself.
    pub max_children: usize,
    /// The most threads of the whole tree at once.
    pub max_threads: usize,
    /// The last lines the child wrote to stderr.
    pub stderr_tail: String,
}

pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => "SIGKILL (the OOM killer, or a timeout)",
        libc::SIGSEGV => "SIGSEGV (segmentation fault)",
        libc::SIGABRT => "SIGABRT (abort)",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Runs `program args` and watches it until it ends, is killed at the timeout, or its
/// parent dies. Every process of its session is killed at the end.
pub fn run(program: &Path, args: &[OsString], limits: Limits) -> std::io::Result<Run> {
    let mut stderr = tempfile::tempfile()?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr.try_clone()?)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONHASHSEED", "0");
    let memory = limits.memory;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(bytes) = memory {
                let limit = libc::rlimit {
                    rlim_cur: bytes as libc::rlim_t,
                    rlim_max: bytes as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = command.spawn()?;
    let session = child.id() as i32;
    let mut peak_rss = 0u64;
    let mut max_children = 0usize;
    let mut max_threads = 0usize;
    let outcome = loop {
        let tree = sample(session);
        peak_rss = peak_rss.max(tree.rss);
        max_children = max_children.max(tree.processes.saturating_sub(1));
        max_threads = max_threads.max(tree.threads);
        if let Some(status) = child.try_wait()? {
            break match (status.code(), status.signal()) {
                (Some(code), _) => Outcome::Exited(code),
                (None, Some(signal)) => Outcome::Signaled(signal),
                (None, None) => Outcome::Exited(-1),
            };
        }
        if start.elapsed() > limits.timeout {
            kill_session(session);
            let _ = child.wait();
            break Outcome::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = start.elapsed();
    // Whatever the child left behind (loky keeps its workers for 300 s) goes with it.
    kill_session(session);
    wait_until_gone(session);
    Ok(Run {
        outcome,
        wall,
        peak_rss,
        max_children,
        max_threads,
        stderr_tail: tail(&mut stderr, 20),
    })
}

fn kill_session(session: i32) {
    // SAFETY: plain syscalls; the group id is the child's pid, which setsid made a
    // session and group leader, so this cannot reach processes outside the tree.
    unsafe {
        libc::kill(-session, libc::SIGKILL);
    }
    for pid in members(session) {
        // Processes that changed group but stayed in the session.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

fn wait_until_gone(session: i32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !members(session).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[derive(Default)]
struct Tree {
    processes: usize,
    threads: usize,
    rss: u64,
}

/// Pids whose session is `session` (zombies included until reaped).
fn members(session: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| stat(*pid).is_some_and(|s| s.session == session && s.state != 'Z'))
        .collect()
}

struct Stat {
    state: char,
    session: i32,
    threads: usize,
    rss_pages: u64,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        session: fields.get(3)?.parse().ok()?,
        threads: fields.get(17)?.parse().ok()?,
        rss_pages: fields.get(21)?.parse().ok()?,
    })
}

fn sample(session: i32) -> Tree {
    let page = 4096u64;
    let mut tree = Tree::default();
    for pid in members(session) {
        if let Some(s) = stat(pid) {
            tree.processes += 1;
            tree.threads += s.threads;
            tree.rss += s.rss_pages * page;
        }
    }
    tree
}

fn tail(file: &mut File, lines: usize) -> String {
    let mut text = String::new();
    let len = file.seek(SeekFrom::End(0)).unwrap_or(0);
    let from = len.saturating_sub(64 * 1024);
    if file.seek(SeekFrom::Start(from)).is_ok() {
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hanging_child_is_killed_at_the_timeout_with_its_children() {
        let run = run(
            Path::new("/bin/sh"),
            &["-c".into(), "sleep 30 & sleep 30".into()],
            Limits {
                timeout: Duration::from_millis(300),
                memory: None,
            },
        )
        .unwrap();
        assert_eq!(run.outcome, Outcome::TimedOut);
        assert!(run.max_children >= 1, "the background sleep was seen");
        assert!(run.wall < Duration::from_secs(5));
    }

    #[test]
    fn signals_and_exit_codes_are_reported() {
        let limits = Limits {
            timeout: Duration::from_secs(10),
            memory: None,
        };
        let run1 = run(
            Path::new("/bin/sh"),
            &["-c".into(), "echo boom >&2; exit 3".into()],
            limits,
        )
        .unwrap();
        assert_eq!(run1.outcome, Outcome::Exited(3));
        assert_eq!(run1.stderr_tail, "boom");
        let run2 = run(
            Path::new("/bin/sh"),
            &["-c".into(), "kill -SEGV $$".into()],
            limits,
        )
        .unwrap();
        assert_eq!(run2.outcome, Outcome::Signaled(libc::SIGSEGV));
    }
}
