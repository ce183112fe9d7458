//! A remote object as a memory map that fills itself: the block cache under the reader.
//!
//! The mirror is a sparse temporary file of the object's length, mapped read-only. Bytes
//! are fetched in aligned blocks when someone asks for them ([`Mirror::ensure`]), written
//! into the file and remembered as present; a range that is never asked for stays a hole
//! and costs neither a request nor disk. Sequential asks grow the read-ahead (as the
//! kernel's does), so an opcode-dense pickle costs a handful of requests, and near asks
//! are coalesced into one GET. What is fetched lives in the page cache of the file, which
//! the kernel may evict: the process's memory stays bounded by one read-ahead buffer.
//!
//! A failed fetch is sticky: every later ask fails the same way and [`Mirror::failure`]
//! says so, so a reader that could not return an error on the spot (an accessor that
//! hands out a slice) cannot turn missing bytes into a verdict.

use std::io::{self, Read};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use memmap2::Mmap;

/// Fetches are whole blocks, aligned to this size: 64 KiB. The first read-ahead of a
/// sequential run is one block (a jump to a zip member's header should not cost more).
/// `ARTIFACT_TEST_BLOCK_SIZE` (a power of two from 512 up) makes blocks smaller: the tests
/// read the small fixtures through many holes with it, so that a reader which reads bytes
/// it did not ask for shows itself.
pub fn block() -> u64 {
    static BLOCK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BLOCK.get_or_init(|| {
        std::env::var("ARTIFACT_TEST_BLOCK_SIZE")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|b| b.is_power_of_two() && (512..=64 << 10).contains(b))
            .unwrap_or(64 << 10)
    })
}
/// The most a read-ahead grows to.
const MAX_AHEAD: u64 = 8 << 20;
/// Attempts of one ranged GET before its error stands.
const ATTEMPTS: u32 = 4;

/// Reads ranges of one remote object.
pub trait Fetch: Send + Sync {
    /// Exactly the bytes of `range`; fewer is an error. `Unsupported` when the server
    /// does not answer range requests with the range.
    fn get(&self, range: Range<u64>) -> io::Result<Vec<u8>>;
    /// The object from `start` to its end, as the body arrives.
    fn stream(&self, start: u64) -> io::Result<Box<dyn Read + Send>>;
}

/// Which ranges of the object are in the file: sorted, disjoint, merged.
#[derive(Debug, Default)]
struct Present(Vec<(u64, u64)>);

impl Present {
    /// The end of the present run holding `at`, if `at` is present.
    fn run_end(&self, at: u64) -> Option<u64> {
        let i = self.0.partition_point(|&(_, end)| end <= at);
        self.0
            .get(i)
            .filter(|&&(start, _)| start <= at)
            .map(|&(_, end)| end)
    }

    fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let first = self.0.partition_point(|&(_, e)| e < start);
        let mut last = first;
        let (mut lo, mut hi) = (start, end);
        while last < self.0.len() && self.0[last].0 <= end {
            lo = lo.min(self.0[last].0);
            hi = hi.max(self.0[last].1);
            last += 1;
        }
        self.0.splice(first..last, [(lo, hi)]);
    }

    /// The parts of `[start, end)` that are not present.
    fn gaps(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut gaps = Vec::new();
        let mut at = start;
        let i = self.0.partition_point(|&(_, e)| e <= start);
        for &(s, e) in &self.0[i..] {
            if s >= end {
                break;
            }
            if s > at {
                gaps.push((at, s));
            }
            at = at.max(e);
        }
        if at < end {
            gaps.push((at, end));
        }
        gaps
    }
}

#[derive(Debug, Default)]
struct State {
    present: Present,
    /// Where the last fetch ended and how far the next sequential one reads ahead.
    last_end: u64,
    ahead: u64,
    /// The first error: it stands for every later read.
    failed: Option<(io::ErrorKind, String)>,
}

/// A remote object mapped as a sparse local file.
pub struct Mirror {
    name: String,
    size: u64,
    file: std::fs::File,
    map: Mmap,
    state: Mutex<State>,
    source: Box<dyn Fetch>,
    timeout: Duration,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("name", &self.name)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Mirror {
    /// A mirror of the `size`-byte object `name` (a URL, for errors), read through
    /// `source`; registered so that [`window`] finds it from a slice of its map.
    pub fn new(
        name: String,
        size: u64,
        source: Box<dyn Fetch>,
        timeout: Duration,
    ) -> io::Result<Arc<Mirror>> {
        let file = tempfile::tempfile()?;
        file.set_len(size)?;
        let map = if size == 0 {
            memmap2::MmapOptions::new()
                .len(0)
                .map_anon()?
                .make_read_only()?
        } else {
            // SAFETY: the temporary file is ours alone, already unlinked; only this
            // mirror writes it, and only ranges nobody has been handed yet.
            unsafe { Mmap::map(&file)? }
        };
        let _ = map.advise(memmap2::Advice::Random);
        let mirror = Arc::new(Mirror {
            name,
            size,
            file,
            map,
            state: Mutex::new(State {
                ahead: block(),
                // No fetch yet: the first is not a sequential one.
                last_end: u64::MAX,
                ..State::default()
            }),
            source,
            timeout,
        });
        register(&mirror);
        Ok(mirror)
    }

    /// [`Mirror::new`], with the object's first bytes already fetched.
    pub fn with_head(
        name: String,
        size: u64,
        head: &[u8],
        source: Box<dyn Fetch>,
        timeout: Duration,
    ) -> io::Result<Arc<Mirror>> {
        let mirror = Mirror::new(name, size, source, timeout)?;
        let len = (head.len() as u64).min(size);
        // `len` fits: it is at most `head.len()`.
        mirror.file.write_all_at(&head[..len as usize], 0)?;
        let mut state = mirror.state.lock().unwrap_or_else(|e| e.into_inner());
        state.present.insert(0, len);
        state.last_end = len;
        drop(state);
        Ok(mirror)
    }

    /// The whole object's bytes, holes included: read only what [`Mirror::ensure`] said
    /// is present.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    pub fn map(&self) -> &Mmap {
        &self.map
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The first fetch error, if any: the bytes handed out after it may be holes.
    pub fn failure(&self) -> Option<io::Error> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .failed
            .as_ref()
            .map(|(kind, message)| io::Error::new(*kind, message.clone()))
    }

    /// Makes `[start, end)` present (clamped to the object) and returns where the
    /// present run holding `start` ends.
    pub fn ensure(&self, start: u64, end: u64) -> io::Result<u64> {
        let end = end.min(self.size);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((kind, message)) = &state.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        if start >= end {
            return Ok(state.present.run_end(start).unwrap_or(start).max(end));
        }
        if let Some(run) = state.present.run_end(start)
            && run >= end
        {
            return Ok(run);
        }
        let result = self.fill(&mut state, start, end);
        if let Err(e) = &result {
            state.failed = Some((e.kind(), e.to_string()));
        }
        result?;
        Ok(state.present.run_end(start).unwrap_or(end))
    }

    fn fill(&self, state: &mut State, start: u64, end: u64) -> io::Result<()> {
        let block = block();
        state.ahead = if start.abs_diff(state.last_end) <= block {
            (state.ahead * 2).min(MAX_AHEAD)
        } else {
            block
        };
        let lo = start - start % block;
        let hi = end
            .max(start.saturating_add(state.ahead))
            .div_ceil(block)
            .saturating_mul(block)
            .min(self.size);
        state.last_end = hi;
        self.fetch_gaps(state, &[(lo, hi)])
    }

    /// Makes every range present, coalesced: many small reads scattered over the object
    /// (a zip's local headers) cost one GET for each cluster of them.
    pub fn ensure_many(&self, ranges: &[Range<u64>]) -> io::Result<()> {
        let block = block();
        let mut blocks: Vec<(u64, u64)> = ranges
            .iter()
            .filter(|r| r.start < r.end.min(self.size))
            .map(|r| {
                let lo = r.start - r.start % block;
                let hi = r.end.min(self.size).div_ceil(block).saturating_mul(block);
                (lo, hi.min(self.size))
            })
            .collect();
        blocks.sort_unstable();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((kind, message)) = &state.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        let result = self.fetch_gaps(&mut state, &blocks);
        if let Err(e) = &result {
            state.failed = Some((e.kind(), e.to_string()));
        }
        result
    }

    /// Fetches what is missing of `wanted` (sorted ranges), gaps closer than a block as
    /// one GET (the bytes between them are fetched again).
    fn fetch_gaps(&self, state: &mut State, wanted: &[(u64, u64)]) -> io::Result<()> {
        let block = block();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for &(lo, hi) in wanted {
            for (s, e) in state.present.gaps(lo, hi) {
                match runs.last_mut() {
                    Some(last) if s <= last.1 + block => last.1 = last.1.max(e),
                    _ => runs.push((s, e)),
                }
            }
        }
        // No GET is larger than the longest read-ahead: a caller that wants a gigabyte
        // (diff hashing an array) holds 8 MiB at a time, not the gigabyte.
        let pieces = runs.into_iter().flat_map(|(s, e)| {
            (s..e)
                .step_by(MAX_AHEAD as usize)
                .map(move |at| (at, (at + MAX_AHEAD).min(e)))
        });
        for (s, e) in pieces {
            match self.get_retrying(s..e) {
                Ok(data) => {
                    self.file.write_all_at(&data, s)?;
                    state.present.insert(s, e);
                }
                Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                    // The server sends the whole object whatever the Range: read it once,
                    // streamed into the file, and never ask for a range again.
                    self.fill_whole(state)?;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn get_retrying(&self, range: Range<u64>) -> io::Result<Vec<u8>> {
        let began = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.source.get(range.clone()).and_then(|data| {
                if data.len() as u64 == range.end - range.start {
                    Ok(data)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "asked for bytes {}..{} and got {} bytes",
                            range.start,
                            range.end,
                            data.len()
                        ),
                    ))
                }
            });
            match result {
                Ok(data) => return Ok(data),
                Err(e) if !transient(&e) || attempt >= ATTEMPTS => {
                    return Err(self.named(e, &range));
                }
                Err(e) if began.elapsed() >= self.timeout => {
                    return Err(self.named(e, &range));
                }
                Err(_) => std::thread::sleep(backoff(attempt)),
            }
        }
    }

    fn named(&self, e: io::Error, range: &Range<u64>) -> io::Error {
        io::Error::new(
            e.kind(),
            // The caller names the URL: the error says which bytes and why.
            format!("cannot fetch bytes {}..{}: {e}", range.start, range.end),
        )
    }

    /// Streams the whole object into the file (a server that ignores Range).
    fn fill_whole(&self, state: &mut State) -> io::Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.copy_stream(0, &mut |data, at| self.file.write_all_at(data, at)) {
                Ok(()) => {
                    state.present.insert(0, self.size);
                    return Ok(());
                }
                Err(e) if transient(&e) && attempt < ATTEMPTS => {
                    std::thread::sleep(backoff(attempt))
                }
                Err(e) => return Err(self.named(e, &(0..self.size))),
            }
        }
    }

    /// Reads the object from `start` to its end through one GET, handing each piece to
    /// `sink` with its offset; the body must be exactly as long as the object says.
    fn copy_stream(
        &self,
        start: u64,
        sink: &mut dyn FnMut(&[u8], u64) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut body = self.source.stream(start)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut at = start;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if at + n as u64 > self.size {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the body is longer than the object's {} bytes", self.size),
                ));
            }
            super::count_bytes(n as u64);
            sink(&buf[..n], at)?;
            at += n as u64;
        }
        if at != self.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the body ended at byte {at} of {}", self.size),
            ));
        }
        Ok(())
    }

    /// Copies the whole object into `dest` (one GET, resumed where a dropped connection
    /// left off), without filling the mirror.
    pub fn copy_to(
        &self,
        dest: &mut std::fs::File,
        progress: &mut dyn FnMut(u64),
    ) -> io::Result<u64> {
        let mut done = 0u64;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut written = done;
            let result = self.copy_stream(done, &mut |data, at| {
                dest.write_all_at(data, at)?;
                written = at + data.len() as u64;
                progress(written);
                Ok(())
            });
            match result {
                Ok(()) => return Ok(self.size),
                Err(e) if e.kind() == io::ErrorKind::Unsupported && done > 0 => done = 0,
                Err(e) if transient(&e) && attempt < ATTEMPTS => {
                    done = written;
                    std::thread::sleep(backoff(attempt));
                }
                Err(e) => return Err(self.named(e, &(done..self.size))),
            }
        }
    }

    /// A reader of the object from its start, for a decoder: what is not yet present is
    /// read from one GET as the decoder pulls it (and kept in the mirror).
    pub fn reader(self: &Arc<Self>) -> MirrorReader {
        MirrorReader {
            mirror: Arc::clone(self),
            pos: 0,
            body: None,
        }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        unregister(self.map.as_ptr() as usize);
    }
}

/// Whether another attempt may succeed: the server or the connection failed, not the
/// request.
fn transient(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::PermissionDenied
            | io::ErrorKind::Unsupported
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::InvalidData
    )
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100 << (2 * attempt.saturating_sub(1)).min(6))
}

/// See [`Mirror::reader`].
pub struct MirrorReader {
    mirror: Arc<Mirror>,
    pos: u64,
    body: Option<Box<dyn Read + Send>>,
}

impl Read for MirrorReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mirror = Arc::clone(&self.mirror);
        if self.pos >= mirror.size || buf.is_empty() {
            return Ok(0);
        }
        let present = {
            let state = mirror.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((kind, message)) = &state.failed {
                return Err(io::Error::new(*kind, message.clone()));
            }
            state.present.run_end(self.pos)
        };
        if let Some(run) = present {
            self.body = None;
            let n = (run - self.pos).min(buf.len() as u64) as usize;
            let at = self.pos as usize;
            buf[..n].copy_from_slice(&mirror.map[at..at + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.read_body(buf);
            match result {
                Ok(n) => return Ok(n),
                Err(e) if transient(&e) && attempt < ATTEMPTS => {
                    self.body = None;
                    std::thread::sleep(backoff(attempt));
                }
                Err(e) => {
                    let e = mirror.named(e, &(self.pos..mirror.size));
                    let mut state = mirror.state.lock().unwrap_or_else(|e| e.into_inner());
                    state.failed = Some((e.kind(), e.to_string()));
                    return Err(e);
                }
            }
        }
    }
}

impl MirrorReader {
    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mirror = Arc::clone(&self.mirror);
        if self.body.is_none() {
            self.body = Some(mirror.source.stream(self.pos)?);
        }
        let Some(body) = self.body.as_mut() else {
            return Ok(0);
        };
        let want = buf.len().min((mirror.size - self.pos) as usize);
        let n = body.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the body ended at byte {} of {}", self.pos, mirror.size),
            ));
        }
        super::count_bytes(n as u64);
        mirror.file.write_all_at(&buf[..n], self.pos)?;
        let mut state = mirror.state.lock().unwrap_or_else(|e| e.into_inner());
        state.present.insert(self.pos, self.pos + n as u64);
        self.pos += n as u64;
        Ok(n)
    }
}

// Mirrors by the address range of their maps: a slice handed out from a map finds its
// mirror without every layer in between carrying it.
static LIVE: AtomicUsize = AtomicUsize::new(0);
type Entry = (usize, usize, Weak<Mirror>);
static REGISTRY: RwLock<Vec<Entry>> = RwLock::new(Vec::new());

fn register(mirror: &Arc<Mirror>) {
    if mirror.size == 0 {
        return;
    }
    let start = mirror.map.as_ptr() as usize;
    let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    registry.push((start, start + mirror.map.len(), Arc::downgrade(mirror)));
    LIVE.fetch_add(1, Ordering::Release);
}

fn unregister(start: usize) {
    let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    let before = registry.len();
    registry.retain(|&(s, _, _)| s != start);
    if registry.len() < before {
        LIVE.fetch_sub(1, Ordering::Release);
    }
}

/// A slice of a mirror, as the pickle lexer holds it: it asks for the bytes it is about
/// to read.
#[derive(Clone, Debug)]
pub struct Window {
    mirror: Arc<Mirror>,
    /// Where the slice starts in the object.
    base: u64,
}

impl Window {
    /// Makes `[at, at + len)` of the slice present; returns where the present run from
    /// `at` ends, relative to the slice (it may end past the slice).
    pub fn ensure(&self, at: usize, len: usize) -> io::Result<usize> {
        let start = self.base + at as u64;
        let end = self.mirror.ensure(start, start + len as u64)?;
        Ok(usize::try_from(end - self.base).unwrap_or(usize::MAX))
    }
}

/// The mirror `data` lies in, if it lies in one (None for local files: no cost then).
pub fn window(data: &[u8]) -> Option<Window> {
    if LIVE.load(Ordering::Acquire) == 0 {
        return None;
    }
    let at = data.as_ptr() as usize;
    let registry = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    registry.iter().find_map(|(start, end, mirror)| {
        if *start <= at && at < *end {
            Some(Window {
                mirror: mirror.upgrade()?,
                base: (at - start) as u64,
            })
        } else {
            None
        }
    })
}

/// Makes the whole of `bytes` present, if it is a slice of a mirror (a no-op otherwise).
pub fn ensure(bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    match window(bytes) {
        Some(window) => window.ensure(0, bytes.len()).map(|_| ()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// An object in memory that counts its requests and can fail on cue.
    struct Fake {
        data: Vec<u8>,
        gets: Arc<AtomicU64>,
        fail_first: AtomicU64,
        ranges: bool,
    }

    impl Fetch for Fake {
        fn get(&self, range: Range<u64>) -> io::Result<Vec<u8>> {
            self.gets.fetch_add(1, Ordering::Relaxed);
            if !self.ranges {
                return Err(io::Error::new(io::ErrorKind::Unsupported, "no ranges"));
            }
            if self
                .fail_first
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(io::Error::other("HTTP 500"));
            }
            Ok(self.data[range.start as usize..range.end as usize].to_vec())
        }
        fn stream(&self, start: u64) -> io::Result<Box<dyn Read + Send>> {
            Ok(Box::new(io::Cursor::new(
                self.data[start as usize..].to_vec(),
            )))
        }
    }

    /// A mirror of `size` bytes (byte i is i % 251) and its GET counter.
    fn mirror(size: usize, ranges: bool, fail_first: u64) -> (Arc<Mirror>, Arc<AtomicU64>) {
        let gets = Arc::new(AtomicU64::new(0));
        let fake = Fake {
            data: (0..size).map(|i| (i % 251) as u8).collect(),
            gets: Arc::clone(&gets),
            fail_first: AtomicU64::new(fail_first),
            ranges,
        };
        let m = Mirror::new(
            "mem://x".into(),
            size as u64,
            Box::new(fake),
            Duration::from_secs(5),
        );
        (m.unwrap(), gets)
    }

    fn byte(i: u64) -> u8 {
        (i % 251) as u8
    }

    #[test]
    fn present_ranges_merge_and_gaps_are_the_rest() {
        let mut p = Present::default();
        p.insert(10, 20);
        p.insert(30, 40);
        assert_eq!(p.gaps(0, 50), [(0, 10), (20, 30), (40, 50)]);
        p.insert(15, 35);
        assert_eq!(p.0, [(10, 40)]);
        assert_eq!(p.run_end(12), Some(40));
        assert_eq!(p.run_end(40), None);
        assert_eq!(p.gaps(12, 38), []);
    }

    #[test]
    fn a_skipped_range_is_never_fetched() {
        let (m, gets) = mirror(64 << 20, true, 0);
        assert!(m.ensure(0, 10).unwrap() >= block());
        let far = 60 << 20;
        assert!(m.ensure(far + 7, far + 10).unwrap() > far + 10);
        assert_eq!(m.bytes()[(far + 9) as usize], byte(far + 9));
        assert_eq!(gets.load(Ordering::Relaxed), 2);
        // Nothing in between was asked for: the file is still a hole there.
        assert!(m.state.lock().unwrap().present.run_end(30 << 20).is_none());
    }

    #[test]
    fn sequential_reads_grow_the_read_ahead() {
        let (m, gets) = mirror(32 << 20, true, 0);
        let mut at = 0u64;
        while at < 32 << 20 {
            at = m.ensure(at, at + 1).unwrap();
        }
        let gets = gets.load(Ordering::Relaxed);
        // 64 KiB doubling to 8 MiB: 8 requests for the first 16 MiB, 2 for the next 16.
        assert!(gets <= 11, "{gets} requests, not 512 blocks");
        assert_eq!(m.bytes()[12345], byte(12345));
    }

    #[test]
    fn a_transient_error_is_retried_and_a_lasting_one_sticks() {
        let (m, _) = mirror(1 << 20, true, 2);
        m.ensure(0, 100).unwrap();
        assert_eq!(m.bytes()[99], 99);
        let (m, _) = mirror(1 << 20, true, 100);
        let err = m.ensure(0, 100).unwrap_err();
        assert!(err.to_string().contains("bytes 0..65536"), "{err}");
        assert!(m.failure().is_some());
        assert!(m.ensure(500_000, 500_001).is_err());
    }

    #[test]
    fn a_server_without_ranges_is_read_once_whole() {
        let (m, gets) = mirror(3 << 20, false, 0);
        m.ensure(2 << 20, (2 << 20) + 5).unwrap();
        assert_eq!(m.ensure(0, 1).unwrap(), 3 << 20);
        assert_eq!(m.bytes()[(3 << 20) - 1], byte((3 << 20) - 1));
        assert_eq!(gets.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn slices_find_their_mirror() {
        let (m, _) = mirror(1 << 20, true, 0);
        let slice = &m.bytes()[1000..2000];
        ensure(slice).unwrap();
        assert_eq!(slice[0], byte(1000));
        assert!(window(&[1u8, 2, 3]).is_none());
    }

    #[test]
    fn the_reader_streams_what_is_missing() {
        let (m, gets) = mirror(5 << 20, true, 0);
        m.ensure(0, 10).unwrap();
        let mut out = Vec::new();
        m.reader().read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 5 << 20);
        assert!(out.iter().enumerate().all(|(i, &b)| b == byte(i as u64)));
        assert_eq!(
            gets.load(Ordering::Relaxed),
            1,
            "one ranged GET; the rest one stream"
        );
        let mut copy = tempfile::tempfile().unwrap();
        assert_eq!(m.copy_to(&mut copy, &mut |_| {}).unwrap(), 5 << 20);
    }
}
