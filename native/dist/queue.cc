#include "dist/queue.h"

#include <algorithm>
#include <cstdio>

namespace tb::dist {

CommQueue::CommQueue(std::unique_ptr<Communicator> comm, double timeoutSeconds, std::function<void()> notify)
    : comm_(std::move(comm)), notify_(std::move(notify)), timeout_(timeoutSeconds) {
  comm_thread_ = std::thread([this] { CommLoop(); });
  watch_thread_ = std::thread([this] { WatchLoop(); });
}

uint64_t CommQueue::Submit(std::string what, Run run, std::vector<std::shared_ptr<void>> keep) {
  uint64_t id;
  bool failNow = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    ++submitted_;
    if (!broken_.empty()) {
      // Collectives after a failure could pair with the wrong calls of the other ranks: refuse them.
      completed_.push_back({id, Status::Error(StatusCode::kDevice, broken_)});
      ++finished_;
      failNow = true;
    } else {
      jobs_.push_back({id, std::move(what), std::move(run), std::move(keep)});
    }
  }
  if (failNow) {
    done_cv_.notify_all();
    notify_();
  } else {
    work_cv_.notify_one();
  }
  return id;
}

std::vector<Completion> CommQueue::TakeCompleted() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Completion> out;
  out.swap(completed_);
  return out;
}

Status CommQueue::WaitAll() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = submitted_;
  done_cv_.wait(lock, [&] { return finished_ >= target || !broken_.empty(); });
  if (!broken_.empty()) return Status::Error(StatusCode::kDevice, broken_);
  return Status::Ok();
}

std::string CommQueue::Broken() const {
  std::lock_guard<std::mutex> lock(mu_);
  return broken_;
}

uint64_t CommQueue::Submitted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return submitted_;
}

void CommQueue::SetTimeout(double seconds) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    timeout_ = std::chrono::duration<double>(seconds);
  }
  watch_cv_.notify_all();
}

bool CommQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_.empty() || running_ || !jobs_.empty()) return false;
    stop_ = true;
  }
  work_cv_.notify_all();
  watch_cv_.notify_all();
  comm_thread_.join();
  watch_thread_.join();
  return true;
}

void CommQueue::BreakLocked(const std::string& reason) {
  if (!broken_.empty()) return;
  broken_ = reason;
  for (Job& j : jobs_) {
    completed_.push_back({j.id, Status::Error(StatusCode::kDevice, reason)});
    ++finished_;
  }
  jobs_.clear();
  if (running_) {
    // The communication thread may never come back from this call; its job is failed now and
    // whatever it returns later is dropped.
    completed_.push_back({running_id_, Status::Error(StatusCode::kDevice, reason)});
    ++finished_;
  }
}

void CommQueue::CommLoop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      running_ = true;
      running_id_ = job.id;
      running_what_ = job.what;
      running_since_ = std::chrono::steady_clock::now();
    }
    watch_cv_.notify_all();
    const Status s = job.run(*comm_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = false;
      if (!broken_.empty()) continue;  // abandoned by the watchdog: already failed (keep dies here)
      if (!s.ok) {
        const std::string reason = "rank " + std::to_string(comm_->Rank()) + " of " + std::to_string(comm_->Size()) +
                                   ": " + job.what + " failed: " + s.message;
        completed_.push_back({job.id, Status::Error(s.code, reason)});
        ++finished_;
        BreakLocked(reason);
      } else {
        completed_.push_back({job.id, s});
        ++finished_;
      }
    }
    done_cv_.notify_all();
    notify_();
  }
}

void CommQueue::WatchLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (!running_ || !broken_.empty()) {
      watch_cv_.wait(lock);
      continue;
    }
    const auto deadline = running_since_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout_);
    const uint64_t id = running_id_;
    if (watch_cv_.wait_until(lock, deadline) != std::cv_status::timeout) continue;
    if (stop_ || !running_ || running_id_ != id || !broken_.empty()) continue;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", timeout_.count());
    BreakLocked("rank " + std::to_string(comm_->Rank()) + " of " + std::to_string(comm_->Size()) + ": " + running_what_ +
                " had no answer from the other ranks within " + secs +
                " s (the timeout): a rank has died, hangs, or issued different collectives; giving up");
    lock.unlock();
    comm_->Abort();
    done_cv_.notify_all();
    notify_();
    lock.lock();
  }
}

}  // namespace tb::dist
