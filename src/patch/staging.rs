//! The file a patch is written to before it is renamed into place, made so that no
//! signal leaves it behind.
//!
//! On Linux the file is opened with `O_TMPFILE`: it has no name at all until it is
//! complete, checked and linked, so Ctrl-C, SIGTERM and even SIGKILL leave nothing. Where
//! the filesystem refuses `O_TMPFILE` (tmpfs before 3.11, some network filesystems), a
//! named `.artifact-patch-*.tmp` is used and SIGINT/SIGTERM/SIGHUP remove it before the
//! process dies; SIGKILL can leave that one behind, never anything at the destination.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicPtr, Ordering};

/// A file being staged in a folder.
pub struct Staged {
    file: File,
    dir: PathBuf,
    /// The named fallback; None for an anonymous (`O_TMPFILE`) file.
    named: Option<tempfile::TempPath>,
}

impl Staged {
    /// A new, empty staged file in `dir` (the destination's folder, so the final rename
    /// stays on one filesystem).
    pub fn new_in(dir: &Path) -> io::Result<Staged> {
        if let Some(file) = anonymous(dir) {
            return Ok(Staged {
                file,
                dir: dir.to_path_buf(),
                named: None,
            });
        }
        // The name is published before the file exists (cleared by persist() or drop,
        // which then own the file's fate): a signal between the two unlinks nothing,
        // where one just after a random name was created could not find it and left the
        // file behind (seen once in CI: SIGTERM right as the staged file appeared).
        let name = dir.join(format!(
            ".artifact-patch-{}-{}.tmp",
            std::process::id(),
            unique()
        ));
        publish_pending(&name);
        let created = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&name)
        };
        let file = match created {
            Ok(file) => file,
            Err(e) => {
                // Not ours (a name taken): a signal must not remove it.
                forget_pending();
                return Err(e);
            }
        };
        let path = match tempfile::TempPath::try_from_path(&name) {
            Ok(path) => path,
            Err(e) => {
                let _ = std::fs::remove_file(&name);
                forget_pending();
                return Err(e);
            }
        };
        Ok(Staged {
            file,
            dir: dir.to_path_buf(),
            named: Some(path),
        })
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// A path that opens this file for reading back (`/proc/self/fd/N` for an anonymous
    /// file).
    pub fn path(&self) -> PathBuf {
        match &self.named {
            Some(p) => p.to_path_buf(),
            None => fd_path(&self.file),
        }
    }

    /// Gives the file its name: `target`, replacing what is there.
    pub fn persist(mut self, target: &Path) -> io::Result<()> {
        match self.named.take() {
            Some(path) => {
                let result = path.persist(target).map_err(|e| e.error);
                forget_pending();
                result
            }
            None => {
                // linkat cannot replace a file: link under a fresh name, then rename over
                // the target. The name lives for one rename, and a signal then removes it.
                let name = self.dir.join(format!(
                    ".artifact-patch-{}-{}.tmp",
                    std::process::id(),
                    unique()
                ));
                let guard = remove_on_signal(&name);
                link(&self.file, &name)?;
                let renamed = std::fs::rename(&name, target);
                if renamed.is_err() {
                    let _ = std::fs::remove_file(&name);
                }
                drop(guard);
                renamed
            }
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // The TempPath removes a named file that was never persisted.
        if self.named.is_some() {
            forget_pending();
        }
    }
}

fn unique() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn fd_path(file: &File) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

#[cfg(target_os = "linux")]
fn anonymous(dir: &Path) -> Option<File> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    if std::env::var_os("ARTIFACT_NO_O_TMPFILE").is_some() {
        return None;
    }
    let dir = CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `dir` is a valid NUL-terminated path; the returned descriptor is owned by
    // the File from here on.
    let fd = unsafe {
        libc::open(
            dir.as_ptr(),
            libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC,
            0o600,
        )
    };
    (fd >= 0).then(|| unsafe { File::from_raw_fd(fd) })
}

#[cfg(not(target_os = "linux"))]
fn anonymous(_dir: &Path) -> Option<File> {
    None
}

#[cfg(target_os = "linux")]
fn link(file: &File, name: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let from = CString::new(fd_path(file).as_os_str().as_bytes())
        .map_err(|_| io::Error::other("descriptor path"))?;
    let to = CString::new(name.as_os_str().as_bytes())
        .map_err(|_| io::Error::other("a file name with a NUL byte"))?;
    // /proc/self/fd/N with AT_SYMLINK_FOLLOW links an O_TMPFILE file without the
    // CAP_DAC_READ_SEARCH that AT_EMPTY_PATH needs.
    // SAFETY: both are valid NUL-terminated paths.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn link(_file: &File, _name: &Path) -> io::Result<()> {
    Err(io::Error::other("anonymous files exist on Linux only"))
}

/// The one file a signal must remove (patches are written one at a time).
static PENDING: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Removes `path` if SIGINT, SIGTERM or SIGHUP arrives before the guard is dropped.
pub fn remove_on_signal(path: &Path) -> PendingGuard {
    publish_pending(path);
    PendingGuard(())
}

/// Makes `path` the file a signal removes, installing the handlers on first use.
fn publish_pending(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: the handler only calls async-signal-safe functions (unlink,
            // signal, raise) on a pointer published before the file existed.
            unsafe {
                libc::signal(sig, on_signal as *const () as libc::sighandler_t);
            }
        }
    });
    if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
        let old = PENDING.swap(c.into_raw(), Ordering::SeqCst);
        free(old);
    }
}

/// Stops removing the pending file on a signal (it was renamed, or removed).
pub struct PendingGuard(());

impl Drop for PendingGuard {
    fn drop(&mut self) {
        forget_pending();
    }
}

fn forget_pending() {
    free(PENDING.swap(std::ptr::null_mut(), Ordering::SeqCst));
}

fn free(p: *mut libc::c_char) {
    if !p.is_null() {
        // SAFETY: every non-null pointer in PENDING came from CString::into_raw.
        drop(unsafe { CString::from_raw(p) });
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    let p = PENDING.swap(std::ptr::null_mut(), Ordering::SeqCst);
    // SAFETY: unlink, signal and raise are async-signal-safe; `p` is a live C string.
    unsafe {
        if !p.is_null() {
            libc::unlink(p);
        }
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn staged_then_persisted(no_tmpfile: bool) {
        let dir = tempfile::tempdir().unwrap();
        let mut staged = if no_tmpfile {
            let tmp = tempfile::Builder::new()
                .prefix(".artifact-patch-")
                .suffix(".tmp")
                .tempfile_in(dir.path())
                .unwrap();
            let (file, path) = tmp.into_parts();
            Staged {
                file,
                dir: dir.path().to_path_buf(),
                named: Some(path),
            }
        } else {
            Staged::new_in(dir.path()).unwrap()
        };
        staged.file.write_all(b"patched").unwrap();
        let mut back = String::new();
        File::open(staged.path())
            .unwrap()
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, "patched");
        let listed = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        if !no_tmpfile {
            assert!(
                listed().is_empty(),
                "an O_TMPFILE file has no name: {:?}",
                listed()
            );
        }
        let target = dir.path().join("out.pkl");
        std::fs::write(&target, b"old").unwrap();
        staged.persist(&target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"patched");
        assert_eq!(listed(), vec!["out.pkl"]);
    }

    #[test]
    fn an_anonymous_file_gets_its_name_only_at_the_end() {
        staged_then_persisted(false);
    }

    #[test]
    fn a_named_fallback_replaces_the_target() {
        staged_then_persisted(true);
    }
}
