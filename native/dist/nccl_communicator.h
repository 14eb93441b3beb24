// NCCL as the engine for ranks that each own a GPU, behind the same Communicator interface as MPI;
// buffers are device pointers. Built only into the CUDA addon, and only where NCCL's header and
// library were found at build time (TB_HAVE_NCCL); it needs MPI as well, which carries NCCL's
// unique id from rank 0 to the others.
#pragma once
#include <memory>

#include "dist/communicator.h"

namespace tb::dist {

// A communicator over every MPI rank, rank r driving GPU `device` (usually the local rank). Call it
// on the MPI communication thread: it makes one MPI broadcast (the unique id). Collectives are
// queued on a stream of their own and waited for before they return; a watchdog's Abort() ends a
// wait with ncclCommAbort.
Status NcclStart(int rank, int size, int device, std::unique_ptr<Communicator>* out);

// NCCL's version as "2.21.5", or why there is none.
const char* NcclVersionText();

}  // namespace tb::dist
