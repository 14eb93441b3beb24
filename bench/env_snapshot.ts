// The environment as the user gave it, captured before anything imports tensorbolt (whose loader sets
// OMP_WAIT_POLICY for its own process): peers in child processes get the user's settings, not ours.
// run.ts imports this module first.
export const userEnv: Readonly<NodeJS.ProcessEnv> = { ...process.env };

// glibc's malloc returns a freed block of 128 KiB or more to the OS and maps fresh pages for the next
// one, each first touched through a page fault. PyTorch's CPU allocator mallocs every activation, so
// each training step faulted its activations in anew; where a page fault is slow (this VM, nested
// virtualization: microseconds each), that was most of PyTorch's time: its MNIST CNN step took 198 ms
// against 69 ms with freed memory kept in the process (conv1 forward 51 ms against 0.56). Both
// settings are needed (the threshold alone, or the trim alone, changed nothing); 32 MiB is the
// largest threshold glibc takes. Every peer's child process runs with them (tensorbolt's steps, whose
// memory comes from its own pool, measured the same either way), unless the user set GLIBC_TUNABLES.
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295';

/** The environment of every peer's child process: the user's, with MALLOC_TUNABLES unless they set GLIBC_TUNABLES. */
export const peerEnv: Readonly<NodeJS.ProcessEnv> = { ...userEnv, GLIBC_TUNABLES: userEnv.GLIBC_TUNABLES ?? MALLOC_TUNABLES };
