//! The process's allocator: the system's, with large blocks backed by huge pages.
//!
//! An opcode-dense stream (a 1.5 M-term vocabulary) builds tens of MiB of graph in a
//! few large vectors, and on 4 KiB pages a quarter of the parse's time was the kernel
//! faulting and zeroing them one page at a time (measured on text_pipeline.pkl, 40 MiB,
//! 3.9 M opcodes: 10,860 page faults and 48 ms of CPU; with huge pages 5,000 faults and
//! 41 ms). Most machines run transparent huge pages in `madvise` mode, so a block only
//! gets them if it asks. Small blocks are left alone: a huge page for them would only
//! add resident memory.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks this large or larger ask for huge pages (two huge pages: a smaller block
/// would round up to more memory than it uses).
const HUGE_PAGE_BLOCK: usize = 4 << 20;

pub struct Allocator;

// SAFETY: every call is forwarded to `System` with the caller's own arguments; the
// madvise hint after it changes how the kernel backs the pages, never their contents
// or which addresses are valid.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is System's.
        let block = unsafe { System.alloc(layout) };
        ask_for_huge_pages(block, layout.size());
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let block = unsafe { System.alloc_zeroed(layout) };
        ask_for_huge_pages(block, layout.size());
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: `block` came from `System` through this allocator, with `layout`.
        unsafe { System.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for dealloc; a growing vector lands here, and its new pages are
        // the ones to back with huge pages.
        let grown = unsafe { System.realloc(block, layout, new_size) };
        ask_for_huge_pages(grown, new_size);
        grown
    }
}

/// Hints `MADV_HUGEPAGE` for the pages that hold `[block, block + size)`.
fn ask_for_huge_pages(block: *mut u8, size: usize) {
    if block.is_null() || size < HUGE_PAGE_BLOCK {
        return;
    }
    // Rounded out to whole pages, not in: a large block is a mapping of its own whose
    // first page also holds the allocator's header, and a hint on only part of it
    // splits the mapping in two, after which the allocator cannot grow it in place
    // (mremap takes one mapping) and copies it on every growth instead (measured: 7%
    // of the parse in memmove). Pages shared with a neighbouring block only get the
    // same hint (4 KiB divides every page size here).
    const PAGE: usize = 4096;
    let start = (block as usize) & !(PAGE - 1);
    let end = (block as usize).saturating_add(size).next_multiple_of(PAGE);
    // SAFETY: the pages hold a block the allocator just handed out (and maybe its
    // neighbours); MADV_HUGEPAGE neither frees nor changes memory. A kernel without
    // transparent huge pages says EINVAL, which changes nothing.
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_keep_their_contents_through_growth() {
        let mut grown: Vec<u64> = Vec::new();
        for i in 0..(3 * HUGE_PAGE_BLOCK / 8) as u64 {
            grown.push(i);
        }
        assert!(grown.iter().enumerate().all(|(i, v)| *v == i as u64));
        let zeroed = vec![0u8; 2 * HUGE_PAGE_BLOCK];
        assert!(zeroed.iter().all(|b| *b == 0));
    }

    /// The mapping in /proc/self/smaps that holds `at`: its range and its flags.
    fn mapping_of(at: usize) -> Option<(std::ops::Range<usize>, String)> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut found = None;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ')
                && let Some((from, to)) = range.split_once('-')
                && let (Ok(from), Ok(to)) = (
                    usize::from_str_radix(from, 16),
                    usize::from_str_radix(to, 16),
                )
            {
                if found.is_some() {
                    break;
                }
                if (from..to).contains(&at) {
                    found = Some(from..to);
                }
            } else if let Some(range) = &found
                && let Some(flags) = line.strip_prefix("VmFlags:")
            {
                return Some((range.clone(), flags.to_string()));
            }
        }
        None
    }

    #[test]
    fn a_large_block_is_marked_for_huge_pages() {
        let block = vec![1u8; 4 * HUGE_PAGE_BLOCK];
        let (_, flags) = mapping_of(block.as_ptr() as usize).expect("the block is mapped");
        // `hg` is VM_HUGEPAGE: the madvise landed (on a kernel that has THP).
        if std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
            assert!(flags.split_whitespace().any(|f| f == "hg"), "{flags}");
        }
    }

    #[test]
    fn a_growing_block_stays_one_mapping() {
        // Rounding the hint in rather than out split a block's mapping at its first
        // page, and every later growth became a copy.
        let mut grown: Vec<u8> = Vec::with_capacity(HUGE_PAGE_BLOCK);
        grown.resize(HUGE_PAGE_BLOCK, 1);
        grown.reserve_exact(8 * HUGE_PAGE_BLOCK);
        grown.resize(9 * HUGE_PAGE_BLOCK, 2);
        let first = grown.as_ptr() as usize;
        let last = first + grown.len() - 1;
        let (range, _) = mapping_of(first).expect("the block is mapped");
        assert!(
            range.contains(&last),
            "{range:x?} holds {first:x} but not {last:x}"
        );
    }
}
