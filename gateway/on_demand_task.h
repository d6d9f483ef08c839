// A task run on a thread of its own each time it is asked for: requests made while it
// runs fold into one more run. Used for work that callers must not wait for (the
// node's key reload on SIGHUP, the store's WAL checkpoints).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace cg::gateway {

class OnDemandTask {
 public:
  explicit OnDemandTask(std::function<void()> task)
      : task_(std::move(task)), thread_([this] { Run(); }) {}
  // Waits for a run in progress to end; a run asked for and not begun is dropped.
  ~OnDemandTask() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  OnDemandTask(const OnDemandTask&) = delete;
  OnDemandTask& operator=(const OnDemandTask&) = delete;

  // Returns at once; thread-safe.
  void Request() {
    {
      std::lock_guard lock(mu_);
      requested_ = true;
    }
    wake_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      wake_.wait(lock, [&] { return stopping_ || requested_; });
      if (stopping_) return;
      requested_ = false;
      lock.unlock();
      task_();
      lock.lock();
    }
  }

  const std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool requested_ = false;
  std::thread thread_;  // last: it starts running in the constructor
};

}  // namespace cg::gateway
