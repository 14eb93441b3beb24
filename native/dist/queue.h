// One communication thread per process runs every collective, in the order they were submitted:
// MPI (and NCCL) need each rank to issue its collectives in the same order, which concurrent
// threads would not guarantee, and the main (JS) thread stays free meanwhile. A watchdog thread
// gives up on a collective that has had no answer for `timeout` seconds (a rank died, hangs, or
// issued different collectives): the queue is then broken, every pending and later job fails with
// that reason, and the stuck thread is abandoned (it may never return from MPI).
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dist/communicator.h"

namespace tb::dist {

struct Completion {
  uint64_t id = 0;
  Status status;
};

class CommQueue {
 public:
  using Run = std::function<Status(Communicator&)>;
  // notify runs on the communication or the watchdog thread whenever completions are ready to take.
  CommQueue(std::unique_ptr<Communicator> comm, double timeoutSeconds, std::function<void()> notify);
  CommQueue(const CommQueue&) = delete;
  CommQueue& operator=(const CommQueue&) = delete;

  // Queues a collective; `what` names it in errors ("allReduce of 1200 float32"). `keep` holds the
  // memory the job touches until it has run (or forever, if it never returns).
  uint64_t Submit(std::string what, Run run, std::vector<std::shared_ptr<void>> keep);
  std::vector<Completion> TakeCompleted();
  // Blocks the caller until every job submitted so far has completed; the broken reason if any failed.
  Status WaitAll();
  // Empty while healthy; why the queue broke otherwise.
  std::string Broken() const;
  // Jobs submitted so far (what ran where: tb.distributed's tests read it).
  uint64_t Submitted() const;
  void SetTimeout(double seconds);
  // Ends both threads when the queue is idle and healthy (before MPI_Finalize); false otherwise.
  bool Stop();
  Communicator& comm() { return *comm_; }

 private:
  struct Job {
    uint64_t id;
    std::string what;
    Run run;
    std::vector<std::shared_ptr<void>> keep;
  };
  void CommLoop();
  void WatchLoop();
  // Marks the queue broken and fails every job not yet completed. Holds mu_.
  void BreakLocked(const std::string& reason);

  std::unique_ptr<Communicator> comm_;
  std::function<void()> notify_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // jobs queued, or stop
  std::condition_variable done_cv_;   // a job completed, or the queue broke
  std::condition_variable watch_cv_;  // stop, or a new timeout
  std::deque<Job> jobs_;
  std::vector<Completion> completed_;
  uint64_t next_id_ = 1;
  uint64_t submitted_ = 0, finished_ = 0;  // finished counts failed-by-break jobs too
  bool running_ = false;                    // a job is inside comm_ now
  uint64_t running_id_ = 0;
  std::string running_what_;
  std::chrono::steady_clock::time_point running_since_;
  std::chrono::duration<double> timeout_;
  std::string broken_;
  bool stop_ = false;
  std::thread comm_thread_, watch_thread_;
};

}  // namespace tb::dist
