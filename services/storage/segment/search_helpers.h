#ifndef SIFT_SERVICES_STORAGE_SEGMENT_SEARCH_HELPERS_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_SEARCH_HELPERS_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/sync/mutex.h"

namespace sift::storage::segment {

// Threads that take part of a search while the machine has a processor to
// spare, so that one search on an otherwise idle shard uses more than one
// core: a search cuts its largest segment into doc ranges and hands one to a
// helper (Search). Under load, when as many searches run as there are
// processors, nothing is handed over and each search runs alone on its
// thread, as it would without helpers: splitting then only adds work.
// Thread-safe; the destructor waits for the parts handed over.
class SearchHelpers {
 public:
  struct Options {
    int threads = 1;
    // Parts are handed over only while fewer than this many searches run.
    int processors = 2;
    // Segments smaller than this are searched whole: handing half of one to
    // a helper costs a thread wake-up, which on a small virtual machine is
    // worth a search of a few thousand documents.
    uint32_t min_split_docs = 1 << 15;
    // Nor are queries that read fewer postings than this (the sum of their
    // terms' document frequencies; a conjunction's rarest term's, times its
    // terms): the hand-over and the second set of cursors cost them more
    // than the second core gives back. On the 200k corpus (bench/README.md)
    // splitting every query cut the OR and AND p99 by a quarter but raised
    // the AND p50 by a fifth; from 50,000 postings on, the p50 stayed.
    uint64_t min_split_postings = 50'000;
  };
  explicit SearchHelpers(const Options& options);
  ~SearchHelpers();

  SearchHelpers(const SearchHelpers&) = delete;
  SearchHelpers& operator=(const SearchHelpers&) = delete;

  // A search counted as running for the object's lifetime.
  class Running {
   public:
    explicit Running(SearchHelpers* helpers) : helpers_(helpers) {
      if (helpers_ != nullptr) helpers_->running_.fetch_add(1);
    }
    ~Running() {
      if (helpers_ != nullptr) helpers_->running_.fetch_sub(1);
    }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;

   private:
    SearchHelpers* const helpers_;
  };

  // A part of a search handed to a helper.
  class Part {
   public:
    explicit Part(std::function<void()> task) : task_(std::move(task)) {}
    // Runs the task here if no helper has started it yet (a helper slow to
    // wake costs nothing then), else waits until the helper is done. Call
    // it once.
    void Join();

   private:
    friend class SearchHelpers;
    // Whoever claims the task first runs it.
    bool Claim() { return !claimed_.exchange(true); }
    std::function<void()> task_;
    std::atomic<bool> claimed_{false};
    Notification done_;
  };

  // Hands `task` to an idle helper; null (and `task` is not run) when none
  // is idle or the processors are busy with other searches. The caller must
  // Join the part before anything the task uses goes away.
  std::shared_ptr<Part> TryHand(std::function<void()> task);

  uint32_t min_split_docs() const { return options_.min_split_docs; }
  uint64_t min_split_postings() const { return options_.min_split_postings; }
  // Parts handed to a helper so far (some of which the search may have run
  // itself, when no helper had started them).
  uint64_t parts_handed() const { return parts_handed_.load(); }

 private:
  void HelperLoop();

  const Options options_;
  std::atomic<int> running_{0};
  std::atomic<uint64_t> parts_handed_{0};
  Mutex mu_;
  CondVar work_or_stop_;
  std::deque<std::shared_ptr<Part>> queue_ ABSL_GUARDED_BY(mu_);
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_SEARCH_HELPERS_H_
