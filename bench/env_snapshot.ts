// The environment as the user gave it, captured before anything imports tensorbolt (whose loader sets
// OMP_WAIT_POLICY for its own process): peers in child processes get the user's settings, not ours.
// run.ts imports this module first.
export const userEnv: Readonly<NodeJS.ProcessEnv> = { ...process.env };

// glibc's malloc returns a freed block of 128 KiB or more to the OS and maps fresh pages for the next
// one, each first touched through a page fault. PyTorch's CPU allocator mallocs every activation, so
// each training step faulted its activations in anew; where a page fault is slow (this VM, nested
// virtualization), that was most of PyTorch's time: in the full runs of 2026-12-06 without and with
// these settings, its MNIST CNN trained at 554 and 1,435 images/s and its conv1 forward took 51 and
// 0.88 ms. Both settings are needed (the threshold alone, or the trim alone, changed nothing); 32 MiB
// is the largest threshold glibc takes. Every peer's child process runs with them (tensorbolt, whose
// memory comes from its own pool, trained at the same speed either way), unless the user set
// GLIBC_TUNABLES.
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295';

/** The environment of every peer's child process: the user's, with MALLOC_TUNABLES unless they set GLIBC_TUNABLES. */
export const peerEnv: Readonly<NodeJS.ProcessEnv> = { ...userEnv, GLIBC_TUNABLES: userEnv.GLIBC_TUNABLES ?? MALLOC_TUNABLES };
