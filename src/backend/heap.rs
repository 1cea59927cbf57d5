//! How the process's heap returns freed memory to the system, set once at start-up by the
//! `toongan` binary and the training-step benchmark.
//!
//! A training step frees and reallocates gigabytes of tensors (CycleGAN at 256², batch 1:
//! ~2.7 GB resident). With glibc's defaults the main heap gives its freed top back to the
//! kernel (`brk`) as soon as more than the trim threshold is free there, and the next step
//! grows it again, so every re-grown page is faulted in and zeroed by the kernel once more:
//! `perf` put the kernel's page zeroing (`clear_page_erms`) at 8.7% of a CycleGAN step, and a
//! CartoonGAN run of three steps took 740K minor page faults, 312K with the heap kept.
//! PyTorch's CPU tensors live on the same glibc heap; this only stops toongan from paying
//! for memory it is about to use again.

/// Keeps freed heap memory for reuse instead of returning it to the kernel after every
/// step: glibc's trim threshold raised to 1 GiB and its mmap threshold fixed at 32 MiB (the
/// largest its dynamic rule would reach; blocks above it are still mapped and unmapped on
/// their own). The process's peak resident memory is unchanged to within fragmentation (+2%
/// measured); what is kept is memory it held a moment before. A no-op off glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters; glibc serialises it with the
        // allocator's own lock, so it is sound at any time, and both values are in range.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        }
    }
}
