// Open MPI as the world of CPU ranks. Only built where MPI was found at build time (TB_HAVE_MPI);
// the binding reports how to get it otherwise.
#pragma once
#include <memory>
#include <string>

#include "dist/communicator.h"

namespace tb::dist {

struct MpiInfo {
  int rank = 0;
  int size = 1;
  // The thread support MPI granted ("multiple", "serialized", ...).
  std::string threadLevel;
  // MPI_Get_library_version's first line, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, ...".
  std::string library;
};

// Starts MPI once per process (MPI_Init_thread asking for MPI_THREAD_MULTIPLE) with errors returned
// as codes instead of MPI's default of aborting the job, and returns a communicator over a duplicate
// of MPI_COMM_WORLD (our collectives never mix with a user's own MPI traffic).
Status MpiStart(std::unique_ptr<Communicator>* out, MpiInfo* info);

// MPI_Finalize. It waits for every rank to finalize: call it only when this rank ends cleanly.
Status MpiFinish();

// MPI's bcast, for the engines that need MPI only to set themselves up (NCCL's unique id).
Status MpiBroadcastBytes(void* data, int bytes, int root);

}  // namespace tb::dist
