//! Exact counts of the processes a child creates, from the kernel: the child runs under
//! ptrace with fork, vfork and clone events, so every task it or its descendants create
//! stops us once, however short-lived (a /proc sampler misses a worker that lives 5 ms,
//! Python-level hooks miss a fork made in C). Only those events and signals stop the
//! tracee; system calls run untouched, so the timings stay the model's own.
//!
//! The tracer is one thread that spawns the child (with PTRACE_TRACEME the forking thread
//! is the tracer) and then waits on it and every task it creates, with `__WNOTHREAD` so it
//! never reaps a child another thread of ours is waiting for.

use std::collections::{HashMap, HashSet};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::{Arc, Mutex, mpsc};

/// A handle on every task the tracer has seen and not yet reaped, for killing what the
/// child's session does not hold (a daemon that called setsid): pidfds name the very
/// process, so a pid reused after the tracer reaps it is never signalled.
#[derive(Clone, Default)]
pub struct Tracees(Arc<Mutex<HashMap<libc::pid_t, OwnedFd>>>);

impl Tracees {
    fn add(&self, pid: libc::pid_t) {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if let (Ok(fd), Ok(mut map)) = (i32::try_from(fd), self.0.lock())
            && fd >= 0
        {
            // SAFETY: the descriptor was just opened and is owned by nobody else.
            map.insert(pid, unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }

    fn remove(&self, pid: libc::pid_t) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(&pid);
        }
    }

    /// SIGKILL to every task still traced.
    pub fn kill_all(&self) {
        let Ok(map) = self.0.lock() else { return };
        for fd in map.values() {
            use std::os::fd::AsRawFd;
            // SAFETY: pidfd_send_signal on a pidfd we own; a task already gone is ESRCH.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    libc::SIGKILL,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                );
            }
        }
    }
}

/// What the tracer thread reports, in this order.
pub enum Report {
    /// The child's pid, or why it could not be spawned (nothing follows then).
    Spawned(std::io::Result<u32>),
    /// `waitpid`'s status for the child itself, as soon as it ends.
    Exited(libc::c_int),
    /// Every task is gone: the processes (not threads) the child and its descendants
    /// created; `None` when the kernel refused to trace it (a seccomp profile, or Yama
    /// forbidding ptrace).
    Done(Option<u64>),
}

/// Arranges for `command`'s child to ask to be traced before it runs the program. Must be
/// called before any other `pre_exec` hook that could fail after it.
pub fn request_tracing(command: &mut Command) {
    // SAFETY: ptrace and raise are async-signal-safe system calls. A refusal is not an
    // error: the child runs untraced and the count is reported as unavailable.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
            Ok(())
        });
    }
}

/// Spawns `command` (prepared with [`request_tracing`]) on this thread and traces it and
/// its descendants until none is left, sending the pid and then the outcome to `reports`.
pub fn spawn_and_trace(mut command: Command, reports: mpsc::Sender<Report>, tracees: Tracees) {
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let _ = reports.send(Report::Spawned(Err(e)));
            return;
        }
    };
    let pid = child.id() as libc::pid_t;
    // The Child handle is not used to wait: this thread reaps the child itself.
    drop(child);
    let _ = reports.send(Report::Spawned(Ok(pid as u32)));
    let started = trace(pid, &tracees, &mut |status| {
        let _ = reports.send(Report::Exited(status));
    });
    let _ = reports.send(Report::Done(started));
}

fn wait(pid: libc::pid_t) -> Option<(libc::pid_t, libc::c_int)> {
    let mut status = 0;
    loop {
        // SAFETY: plain system call with a valid out-pointer.
        let got = unsafe { libc::waitpid(pid, &mut status, libc::__WALL | libc::__WNOTHREAD) };
        if got > 0 {
            return Some((got, status));
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return None;
        }
    }
}

fn resume(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: plain system call on a tracee of this thread; an error means it is gone.
    unsafe {
        libc::ptrace(libc::PTRACE_CONT, pid, 0, signal as libc::c_long);
    }
}

fn event_message(pid: libc::pid_t) -> Option<libc::pid_t> {
    let mut message: libc::c_ulong = 0;
    // SAFETY: the out-pointer is valid for a c_ulong, which GETEVENTMSG writes.
    let ok = unsafe { libc::ptrace(libc::PTRACE_GETEVENTMSG, pid, 0, &mut message) } == 0;
    ok.then_some(message as libc::pid_t)
}

/// Whether `tid` leads its own thread group: a process, not a thread.
fn is_process(tid: libc::pid_t) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{tid}/status")) else {
        // Gone already; a clone that quick is counted as the process it most likely was.
        return true;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse::<libc::pid_t>().ok())
        .is_none_or(|tgid| tgid == tid)
}

/// Traces until no task is left; `exited` hears the child's own status when it ends.
fn trace(
    child: libc::pid_t,
    tracees: &Tracees,
    exited: &mut dyn FnMut(libc::c_int),
) -> Option<u64> {
    // With PTRACE_TRACEME the child stops at its exec with SIGTRAP; without (refused), the
    // first thing we see is its end.
    let Some((_, first)) = wait(child) else {
        exited(0);
        return None;
    };
    if !(libc::WIFSTOPPED(first) && libc::WSTOPSIG(first) == libc::SIGTRAP) {
        exited(first);
        return None;
    }
    let options = libc::PTRACE_O_TRACEFORK
        | libc::PTRACE_O_TRACEVFORK
        | libc::PTRACE_O_TRACECLONE
        | libc::PTRACE_O_TRACEEXEC
        | libc::PTRACE_O_EXITKILL;
    // SAFETY: plain system call on our stopped tracee.
    unsafe {
        libc::ptrace(libc::PTRACE_SETOPTIONS, child, 0, options as libc::c_long);
    }
    tracees.add(child);
    resume(child, 0);
    let mut started = 0u64;
    // Tasks created but whose first stop we have not seen: that SIGSTOP is ptrace's, not
    // a signal for them.
    let mut fresh: HashSet<libc::pid_t> = HashSet::new();
    let mut known: HashSet<libc::pid_t> = HashSet::from([child]);
    while let Some((pid, status)) = wait(-1) {
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            known.remove(&pid);
            tracees.remove(pid);
            if pid == child {
                exited(status);
            }
            continue;
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        let signal = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xff;
        if signal == libc::SIGTRAP && event != 0 {
            if matches!(
                event,
                libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE
            ) && let Some(new) = event_message(pid)
            {
                if event != libc::PTRACE_EVENT_CLONE || is_process(new) {
                    started += 1;
                }
                // Its first stop may already have been reported.
                if !known.remove(&new) {
                    fresh.insert(new);
                }
                known.insert(new);
            }
            resume(pid, 0);
        } else if signal == libc::SIGSTOP && (fresh.remove(&pid) || !known.contains(&pid)) {
            // A new task's first stop, possibly reported before its parent's event. It is
            // stopped and unreaped: its pid is its own while the pidfd is opened.
            known.insert(pid);
            tracees.add(pid);
            resume(pid, 0);
        } else {
            // A real signal: deliver it as the kernel would have. A group stop (GETSIGINFO
            // fails) is not one: resuming keeps the tree running.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: the out-pointer is valid for a siginfo_t.
            let delivery = unsafe { libc::ptrace(libc::PTRACE_GETSIGINFO, pid, 0, &mut info) } == 0;
            resume(pid, if delivery { signal } else { 0 });
        }
    }
    Some(started)
}
