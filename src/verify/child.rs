//! One isolated child process: its own session and process group (so the whole tree can
//! be killed, loky workers included), killed if artifact dies, an optional address-space
//! limit, a timeout, a sampler that watches the process tree's memory and threads
//! through /proc, and a tracer that counts every process the tree creates (`trace`).

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::trace::Report;

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
    /// Every process the tree created, counted by the kernel's ptrace events (None when
    /// the system forbids tracing).
    pub processes_started: Option<u64>,
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
    super::trace::request_tracing(&mut command);
    let start = Instant::now();
    let (reports, heard) = mpsc::channel();
    let tracees = super::trace::Tracees::default();
    let tracer = {
        let tracees = tracees.clone();
        std::thread::Builder::new()
            .name("tracer".into())
            .spawn(move || super::trace::spawn_and_trace(command, reports, tracees))?
    };
    let session = match heard.recv() {
        Ok(Report::Spawned(spawned)) => spawned? as i32,
        _ => return Err(std::io::Error::other("the tracer thread ended early")),
    };
    let mut peak_rss = 0u64;
    let mut max_children = 0usize;
    let mut max_threads = 0usize;
    let mut timed_out = false;
    let status = loop {
        let tree = sample(session);
        peak_rss = peak_rss.max(tree.rss);
        max_children = max_children.max(tree.processes.saturating_sub(1));
        max_threads = max_threads.max(tree.threads);
        match heard.recv_timeout(Duration::from_millis(10)) {
            Ok(Report::Exited(status)) => break status,
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(std::io::Error::other("the tracer thread ended early"));
            }
        }
        if !timed_out && start.elapsed() > limits.timeout {
            timed_out = true;
            kill_session(session);
            tracees.kill_all();
        }
    };
    let outcome = if timed_out {
        Outcome::TimedOut
    } else if libc::WIFEXITED(status) {
        Outcome::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Outcome::Signaled(libc::WTERMSIG(status))
    } else {
        Outcome::Exited(-1)
    };
    let wall = start.elapsed();
    // Whatever the child left behind (loky keeps its workers for 300 s) goes with it,
    // and so does any task that left the session (setsid) but is still traced.
    kill_session(session);
    tracees.kill_all();
    wait_until_gone(session);
    let mut processes_started = None;
    while let Ok(report) = heard.recv_timeout(Duration::from_secs(5)) {
        if let Report::Done(count) = report {
            processes_started = count;
            // Joined only when done. Untraced (ptrace refused), a task that left the
            // session is not reachable here; traced, PTRACE_O_EXITKILL also ends it with us.
            let _ = tracer.join();
            break;
        }
    }
    Ok(Run {
        outcome,
        wall,
        peak_rss,
        max_children,
        max_threads,
        processes_started,
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
    let page = crate::container::page_size();
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
    }

    /// A daemon that leaves the child's session (setsid) is outside `kill -SESSION`, but
    /// the tracer saw it born: it is killed with the rest when the run ends.
    #[test]
    fn a_process_that_leaves_the_session_is_killed_too() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!(
            "setsid sh -c 'echo $$ > {}; exec sleep 1000' & sleep 0.5",
            pidfile.display()
        );
        let run = run(
            Path::new("/bin/sh"),
            &["-c".into(), script.into()],
            Limits {
                timeout: Duration::from_secs(20),
                memory: None,
            },
        )
        .unwrap();
        assert_eq!(run.outcome, Outcome::Exited(0));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let alive = stat(pid).is_some_and(|s| s.state != 'Z');
        assert!(!alive, "the setsid daemon {pid} outlived the run");
    }

    /// Every process counts, however short-lived and whoever forks it (a shell, C code
    /// under Python, which Python-level hooks never see); threads do not.
    #[test]
    fn every_process_created_is_counted_and_threads_are_not() {
        let limits = Limits {
            timeout: Duration::from_secs(20),
            memory: None,
        };
        let shell = run(
            Path::new("/bin/sh"),
            &[
                "-c".into(),
                "for i in 1 2 3 4 5; do /bin/true; done; (/bin/true &)".into(),
            ],
            limits,
        )
        .unwrap();
        assert_eq!(shell.outcome, Outcome::Exited(0));
        // Five commands, the subshell, and the background command inside it.
        assert_eq!(shell.processes_started, Some(7));
        let python = [
            "import ctypes, os, threading",
            "threads = [threading.Thread(target=lambda: None) for _ in range(8)]",
            "[t.start() for t in threads]; [t.join() for t in threads]",
            "libc = ctypes.CDLL(None)",
            "pid = libc.fork()",
            "os._exit(0) if pid == 0 else os.waitpid(pid, 0)",
        ];
        // The interpreter itself: `python3` may be a shim (pyenv) that forks on its own.
        let interpreter = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap();
        let interpreter = String::from_utf8(interpreter.stdout).unwrap();
        let c_fork = run(
            Path::new(interpreter.trim()),
            &["-c".into(), python.join("\n").into()],
            limits,
        )
        .unwrap();
        assert_eq!(c_fork.outcome, Outcome::Exited(0), "{}", c_fork.stderr_tail);
        assert_eq!(c_fork.processes_started, Some(1));
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
