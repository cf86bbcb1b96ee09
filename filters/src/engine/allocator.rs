//! The process's allocator, configured for the matcher's write path.
//!
//! Writes hold a collection's lock, so a write must not pay for work the allocator batches up
//! from earlier calls. glibc's does: see [`tune_allocator`].

/// Configures the process's allocator for an engine's write path; call it once at startup,
/// before other threads allocate. Returns whether anything was changed.
///
/// On glibc it turns off *fastbins*: freed small chunks otherwise wait in per-size lists that
/// the allocator consolidates in bulk whenever a `free` coalesces 64 KB, so a write that frees
/// one small buffer after mass removals paid for every chunk freed before it: 60 ms under the
/// write lock, measured at a million filters (`write_latency` on realistic 1M, the largest
/// removal 64–67 ms before, 0.53–0.56 ms after). Per-thread caches still serve most small
/// allocations; registration and matching speed were unchanged within noise.
pub fn tune_allocator() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets a parameter of the allocator; M_MXFAST = 0 is documented
        // ("disable fastbins") and valid at any time.
        unsafe { libc::mallopt(libc::M_MXFAST, 0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
