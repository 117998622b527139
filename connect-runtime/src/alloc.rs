//! The worker's memory allocator: jemalloc, with a smaller thread cache than its default.
//!
//! A sink task keeps a whole batch of records alive until `put` returns, then frees them at once. glibc's
//! per-thread cache holds only 7 blocks of each size, so most of those frees, and the next batch's allocations, go
//! through its shared bins and their consolidation: about half of what the sink path costs beyond a raw consumer
//! (the README's benchmark section has the instruction counts). jemalloc's thread cache takes a batch's worth of frees.
//!
//! Its default cache is sized for a few busy threads, though, and a worker runs one thread per task: with it,
//! 1 000 source tasks take about three times glibc's memory. [`MALLOC_CONF`] caches only blocks up to 1 KiB and
//! a quarter of the default number of them: 1 000 tasks then take a fifth more than with glibc (181 against
//! 152 MiB), and the sink path keeps the gain (the README's benchmark section has the figures).
//!
//! The allocator is the process's Rust allocator only: librdkafka and plugin libraries keep the C library's
//! `malloc`. Values crossing the plugin boundary are freed through the allocating side's functions (`abi_stable`'s
//! `RVec` and `RString` carry them), so the two never free each other's memory.
//!
//! Every binary that links this crate gets it: the `connect` worker, the integration tests and the benches, so
//! benches compare both sides of a ratio under the same allocator. The crate's own unit tests keep the system
//! allocator, since one of them installs a counting allocator of its own.

/// The process's allocator.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once when it first allocates (before `main`). `MALLOC_CONF`-style overrides still
/// apply on top, through the `_RJEM_MALLOC_CONF` environment variable.
///
/// - `tcache_max:1024`: blocks above 1 KiB go straight to the arena (the default caches up to 32 KiB);
/// - `lg_tcache_nslots_mul:-2`: each cached size holds a quarter of the default number of blocks.
#[export_name = "_rjem_malloc_conf"]
pub static MALLOC_CONF: &[u8; 40] = b"tcache_max:1024,lg_tcache_nslots_mul:-2\0";

/// Reads one of jemalloc's `size_t` options (`opt.*` in its `mallctl` namespace), such as `"opt.tcache_max"`.
/// `None` when jemalloc has no such option.
pub fn option(name: &str) -> Option<usize> {
    let name = std::ffi::CString::new(name).ok()?;
    let mut value: usize = 0;
    let mut len = std::mem::size_of::<usize>();
    // SAFETY: `name` is NUL-terminated; `value` and `len` describe a writable `size_t`, which is what jemalloc
    // writes for a size option; nothing is written through the null new-value pointer.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(name.as_ptr(), (&mut value as *mut usize).cast(), &mut len, std::ptr::null_mut(), 0)
    };
    (rc == 0 && len == std::mem::size_of::<usize>()).then_some(value)
}
