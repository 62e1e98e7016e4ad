// SegmentIndex: flushes and merges, on the background thread or on request,
// and what happens when one fails.

#include <algorithm>
#include <atomic>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/storage/internal/rocksdb_status.h"
#include "services/storage/merge_policy.h"
#include "services/storage/segment/builder.h"
#include "services/storage/segment/postings.h"
#include "services/storage/segment_index.h"

namespace sift::storage {

using internal::FromRocksDbStatus;

namespace {

// Passes values on until `abandon` is set, then fails the merge.
class AbandonableSink final : public segment::ValueSink {
 public:
  AbandonableSink(segment::ValueSink* out, const std::atomic<bool>* abandon)
      : out_(out), abandon_(abandon) {}

  absl::Status Add(absl::string_view key_prefix, absl::string_view key_rest,
                   absl::string_view value) override {
    // A relaxed load is cheap, but not free on every value.
    if ((++added_ & 1023) == 0 && abandon_->load(std::memory_order_relaxed)) {
      return absl::CancelledError("the index is closing; merge abandoned");
    }
    return out_->Add(key_prefix, key_rest, value);
  }

 private:
  segment::ValueSink* const out_;
  const std::atomic<bool>* const abandon_;
  uint64_t added_ = 0;
};

// When a background thread tries again after a failed round: after
// retry_delay, doubling up to max_retry_delay while it keeps failing.
struct Retry {
  explicit Retry(const IndexOptions& options) : delay(options.retry_delay) {}
  void After(const absl::Status& status, const IndexOptions& options) {
    if (status.ok()) {
      failing = false;
      return;
    }
    delay = failing ? std::min(delay * 2, options.max_retry_delay)
                    : options.retry_delay;
    failing = true;
  }
  bool failing = false;
  absl::Duration delay;
};

}  // namespace

absl::Status SegmentIndex::MergeInto(const std::vector<uint32_t>& ids,
                                     bool background) {
  // The inputs as the current view has them: the merge drops what is
  // deleted there, and documents deleted while it runs are deleted in its
  // output at the commit.
  const std::shared_ptr<const IndexView> start = CurrentView();
  std::vector<ViewSegment> inputs;
  std::vector<segment::SegmentSnapshot> sources;
  for (uint32_t id : ids) {
    const ViewSegment* segment = start->Find(id);
    if (segment == nullptr) {
      return absl::InternalError(
          absl::StrCat("segment ", id, " to merge is not in the index"));
    }
    inputs.push_back(*segment);
    sources.push_back({segment->segment.get(), segment->live_docs.get()});
  }
  uint32_t id = 0;
  {
    MutexLock write_lock(&write_mu_);
    id = next_segment_id_++;
  }
  std::vector<std::vector<uint32_t>> doc_maps;
  SIFT_RETURN_IF_ERROR(db_->WriteSegment(
      id, [&](segment::ValueSink* out, segment::ValueSink* postings_out) {
        if (!background) {
          return segment::MergeSegments(sources, &doc_maps, out, postings_out);
        }
        AbandonableSink sink(out, &abandon_merges_);
        AbandonableSink postings_sink(postings_out, &abandon_merges_);
        return segment::MergeSegments(sources, &doc_maps, &sink,
                                      &postings_sink);
      }));
  // Its values are written and never change: loading its columns needs no
  // lock, and writers do not wait for it.
  absl::StatusOr<std::shared_ptr<const segment::Segment>> opened =
      segment::Segment::Open(db_->segment_store(), id);
  if (!opened.ok()) {
    db_->DropSegments({id}).IgnoreError();
    return opened.status();
  }
  std::shared_ptr<const segment::Segment> merged = *std::move(opened);

  MutexLock write_lock(&write_mu_);
  const std::shared_ptr<const IndexView> now = CurrentView();
  for (const ViewSegment& input : inputs) {
    const ViewSegment* current = now->Find(input.segment->id());
    if (current == nullptr || current->segment != input.segment) {
      return absl::InternalError(
          absl::StrCat("segment ", input.segment->id(),
                       " was merged twice; the second merge is abandoned"));
    }
  }
  rocksdb::WriteBatch batch;
  std::vector<uint32_t> deleted_meanwhile;
  for (size_t s = 0; s < inputs.size(); ++s) {
    const segment::Segment& input = *inputs[s].segment;
    const segment::LiveDocs& live = *now->Find(input.id())->live_docs;
    const segment::Columns& c = input.columns();
    for (uint32_t d = 0; d < input.doc_count(); ++d) {
      const uint32_t to = doc_maps[s][d];
      if (to == segment::kNoMoreDocs) continue;
      if (live.IsDeleted(d)) {
        batch.Put(db_->family(kSegments), segment::DeletedKey(id, to), "");
        deleted_meanwhile.push_back(to);
      } else {
        const absl::string_view doc_id = c.id(d);
        batch.Put(db_->family(kIds),
                  rocksdb::Slice(doc_id.data(), doc_id.size()),
                  Location{id, to}.Encode());
      }
    }
    if (input.in_memory()) {
      // Whichever form (index_format.h) the segment was logged in.
      batch.Delete(db_->family(kPending), PendingLoggedKey(input.id()));
      batch.Delete(db_->family(kPending), PendingValuesKey(input.id()));
      batch.Delete(db_->family(kPending), PendingKey(input.id()));
    }
  }
  const std::set<uint32_t> replaced(ids.begin(), ids.end());
  std::vector<uint32_t> persisted;
  for (const ViewSegment& s : now->segments()) {
    const uint32_t sid = s.segment->id();
    if (!s.segment->in_memory() && !replaced.count(sid)) {
      persisted.push_back(sid);
    }
  }
  persisted.push_back(id);
  batch.Put(db_->family(kMeta), kSegmentListKey, EncodeSegmentList(persisted));
  batch.Put(db_->family(kMeta), kNextSegmentKey,
            EncodeSegmentId(next_segment_id_));
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  absl::Status written = FromRocksDbStatus(
      db_->db()->Write(write_options, &batch), "writing a merged segment");
  if (!written.ok()) {
    // The segment was adopted but never listed: drop it now rather than at
    // the next start. If that fails too, the next start does it.
    db_->DropSegments({id}).IgnoreError();
    return written;
  }
  {
    // Their op log entries may be trimmed now.
    MutexLock log_lock(&log_mu_);
    for (const ViewSegment& input : inputs) {
      logged_segments_.erase(input.segment->id());
    }
  }
  IndexViewBuilder next(now);
  for (uint32_t sid : ids) next.Remove(sid);
  next.Add({merged, segment::LiveDocs::WithDeletedDocs(merged->doc_count(),
                                                       deleted_meanwhile)});
  Publish(next.Build());
  id_rewrites_.fetch_add(1, std::memory_order_relaxed);
  // The replaced segments' values go once no view holds them.
  for (const ViewSegment& input : inputs) {
    if (!input.segment->in_memory()) {
      retired_.emplace_back(input.segment->id(), input.segment);
    }
  }
  return absl::OkStatus();
}

absl::Status SegmentIndex::RemoveRetired() {
  std::vector<uint32_t> expired;
  {
    MutexLock write_lock(&write_mu_);
    // Not a hand-written compaction loop: moving an entry onto itself would
    // empty its weak_ptr and drop a segment a search still reads.
    std::erase_if(retired_, [&expired](const auto& entry) {
      if (!entry.second.expired()) return false;
      expired.push_back(entry.first);
      return true;
    });
  }
  // Outside the lock: writes need not wait for files to go.
  return db_->DropSegments(expired);
}

absl::StatusOr<bool> SegmentIndex::FlushOnce(bool all, bool background) {
  MutexLock flush_lock(&flush_mu_);
  const std::vector<uint32_t> ids =
      PickFlush(CurrentView()->Stats(), options_, all);
  if (ids.empty()) return false;
  SIFT_RETURN_IF_ERROR(MergeInto(ids, background));
  MutexLock lock(&work_mu_);
  room_cv_.SignalAll();
  return true;
}

absl::StatusOr<bool> SegmentIndex::MergeOnce(bool background) {
  MutexLock merge_lock(&merge_mu_);
  SIFT_RETURN_IF_ERROR(RemoveRetired());
  const std::vector<uint32_t> ids = PickMerge(CurrentView()->Stats(), options_);
  if (ids.empty()) return false;
  if (options_.on_merge_start) options_.on_merge_start();
  SIFT_RETURN_IF_ERROR(MergeInto(ids, background));
  return true;
}

absl::StatusOr<bool> SegmentIndex::Settle() {
  const uint64_t quiet_at = commits_.load(std::memory_order_relaxed);
  while (true) {
    if (abandon_merges_.load(std::memory_order_relaxed) ||
        commits_.load(std::memory_order_relaxed) != quiet_at) {
      return false;
    }
    // Settling merges memory segments with flushed ones: both kinds.
    MutexLock flush_lock(&flush_mu_);
    MutexLock merge_lock(&merge_mu_);
    SIFT_RETURN_IF_ERROR(RemoveRetired());
    const std::vector<uint32_t> ids =
        PickSettle(CurrentView()->Stats(), options_);
    if (ids.empty()) {
      // Settled: what the memtables hold (the stored documents of the
      // load, above all) goes to table files too, so that the WAL files
      // behind them are deleted rather than kept until the next close. A
      // shard of 66,000 news documents held 239 MB of WAL while it ran
      // against 90 MB of table files, and a kill -9 replayed it all.
      SIFT_RETURN_IF_ERROR(db_->FlushMemtables());
      SIFT_RETURN_IF_ERROR(CompactIdsIfRewritten());
      return true;
    }
    SIFT_RETURN_IF_ERROR(MergeInto(ids, /*background=*/true));
  }
}

void SegmentIndex::RecordBackgroundStatus(Worker worker,
                                          const absl::Status& status) {
  absl::Status report;
  {
    MutexLock lock(&bg_mu_);
    absl::Status& mine = worker == Worker::kFlush ? flush_error_ : merge_error_;
    const absl::Status& other =
        worker == Worker::kFlush ? merge_error_ : flush_error_;
    if (mine.ok() && status.ok()) return;
    mine = status;
    // Writes stay refused while the other thread still fails.
    if (status.ok() && !other.ok()) return;
    report = status;
  }
  if (options_.on_background_status) options_.on_background_status(report);
}

void SegmentIndex::FlushLoop() {
  Retry retry(options_);
  while (true) {
    {
      MutexLock lock(&work_mu_);
      // Writes ask when their memory segments are due; a failed flush is
      // tried again after a while.
      const absl::Time deadline =
          absl::Now() + (retry.failing ? retry.delay : absl::Seconds(5));
      while (!stopping_ && !flush_requested_ &&
             !flush_cv_.WaitWithDeadline(&work_mu_, deadline)) {
      }
      if (stopping_) return;
      flush_requested_ = false;
    }
    absl::Status status;
    bool flushed = false;
    while (true) {
      absl::StatusOr<bool> did = FlushOnce(/*all=*/false, /*background=*/true);
      if (!did.ok()) {
        status = did.status();
        break;
      }
      if (!*did) break;
      flushed = true;
      MutexLock lock(&work_mu_);
      if (stopping_) return;
    }
    if (flushed) {
      // A new flushed segment may complete a tier.
      MutexLock lock(&work_mu_);
      merge_requested_ = true;
      merge_cv_.Signal();
    }
    if (abandon_merges_.load(std::memory_order_relaxed)) return;
    retry.After(status, options_);
    RecordBackgroundStatus(Worker::kFlush, status);
  }
}

void SegmentIndex::MergeLoop() {
  Retry retry(options_);
  // For settling: the commit count last seen, since when it has not
  // changed (as far as this thread saw), and the count at the last settle.
  const bool settles = options_.settle_after != absl::InfiniteDuration();
  uint64_t seen = commits_.load(std::memory_order_relaxed);
  absl::Time quiet_since = absl::Now();
  std::optional<uint64_t> settled_at;
  while (true) {
    {
      MutexLock lock(&work_mu_);
      // Wakes up now and then to merge what deletions made worth it, and,
      // after a failure, to try again.
      absl::Duration wait = retry.failing ? retry.delay : absl::Seconds(5);
      if (settles && !retry.failing) {
        // Due to settle: at the end of the quiet period. Settled: soon
        // enough after a new write to settle about settle_after after it.
        wait =
            std::clamp(settled_at != seen
                           ? quiet_since + options_.settle_after - absl::Now()
                           : options_.settle_after,
                       absl::ZeroDuration(), wait);
      }
      const absl::Time deadline = absl::Now() + wait;
      while (!stopping_ && !merge_requested_ &&
             !merge_cv_.WaitWithDeadline(&work_mu_, deadline)) {
      }
      if (stopping_) return;
      merge_requested_ = false;
    }
    absl::Status status;
    while (true) {
      absl::StatusOr<bool> did = MergeOnce(/*background=*/true);
      if (!did.ok()) {
        status = did.status();
        break;
      }
      if (!*did) break;
      MutexLock lock(&work_mu_);
      if (stopping_) return;
    }
    const uint64_t commits = commits_.load(std::memory_order_relaxed);
    if (commits != seen) {
      seen = commits;
      quiet_since = absl::Now();
    }
    if (status.ok() && settles && settled_at != seen &&
        absl::Now() - quiet_since >= options_.settle_after) {
      absl::StatusOr<bool> settled = Settle();
      if (!settled.ok()) {
        status = settled.status();
      } else if (*settled) {
        settled_at = seen;
      }
    }
    if (abandon_merges_.load(std::memory_order_relaxed)) return;
    retry.After(status, options_);
    RecordBackgroundStatus(Worker::kMerge, status);
  }
}

absl::Status SegmentIndex::Flush() {
  SIFT_RETURN_IF_ERROR(FlushOnce(/*all=*/true).status());
  while (true) {
    SIFT_ASSIGN_OR_RETURN(bool did, MergeOnce());
    if (!did) return absl::OkStatus();
  }
}

absl::Status SegmentIndex::ForceMerge(size_t max_segments) {
  while (true) {
    // Chosen under both locks, so that no background flush or merge takes
    // the same segments meanwhile.
    MutexLock flush_lock(&flush_mu_);
    MutexLock merge_lock(&merge_mu_);
    const std::vector<uint32_t> ids =
        PickForceMerge(CurrentView()->Stats(), max_segments);
    if (ids.empty()) return CompactIdsIfRewritten();
    SIFT_RETURN_IF_ERROR(MergeInto(ids));
  }
}

absl::Status SegmentIndex::CompactIdsIfRewritten() {
  const uint64_t rewrites = id_rewrites_.load(std::memory_order_relaxed);
  if (rewrites == ids_compacted_at_) return absl::OkStatus();
  SIFT_RETURN_IF_ERROR(db_->CompactIds());
  ids_compacted_at_ = rewrites;
  return absl::OkStatus();
}

}  // namespace sift::storage
