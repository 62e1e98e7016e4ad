#include "services/storage/replication/shard_primary.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"

namespace sift::storage {
namespace {

// How often the applying thread looks for copies that hold writes up and
// for the end of its lease when nothing else wakes it.
constexpr absl::Duration kTick = absl::Milliseconds(100);

// Bytes of writes one pull answer carries at most.
constexpr size_t kMaxPullBytes = size_t{8} << 20;

// The longest a pull waits for a write.
constexpr absl::Duration kMaxPullWait = absl::Seconds(5);

}  // namespace

ShardPrimary::ShardPrimary(Index* index, PrimaryOptions options)
    : index_(index), options_(std::move(options)) {
  const absl::Time now = absl::Now();
  {
    MutexLock lock(&mu_);
    log_end_ = index_->LogEnd().seq;
    first_own_seq_ = log_end_ + 1;
    applied_ = index_->LastOp().seq;
    applying_ = applied_;
    // Writes a former primary logged here and nobody applied: they commit
    // like new ones, once every in-sync copy has them.
    for (uint64_t seq = applied_ + 1; seq <= log_end_; ++seq) {
      appended_at_[seq] = now;
    }
    for (const std::string& member : options_.in_sync) {
      if (member == options_.member) continue;
      Copy& copy = copies_[member];
      copy.in_sync = true;
      // A copy gets copy_timeout from the election to show up.
      copy.last_seen = now;
      copy.leaving = std::find(options_.gone.begin(), options_.gone.end(),
                               member) != options_.gone.end();
    }
  }
  applier_ = std::thread([this] { ApplyLoop(); });
}

ShardPrimary::~ShardPrimary() {
  StepDown(absl::FailedPreconditionError("the primary is shutting down"));
  {
    MutexLock lock(&mu_);
    closing_ = true;
    changed_.SignalAll();
  }
  applier_.join();
}

void ShardPrimary::StepDown(const absl::Status& why) {
  MutexLock lock(&mu_);
  if (stopped_.ok()) stopped_ = why;
  changed_.SignalAll();
}

void ShardPrimary::Drain(absl::Time deadline) {
  {
    MutexLock lock(&mu_);
    draining_ = true;
    while (stopped_.ok() && applied_ < log_end_ && absl::Now() < deadline) {
      changed_.WaitWithDeadline(&mu_, deadline);
    }
  }
  StepDown(absl::UnavailableError(
      "the primary has handed over; write to the shard's new primary"));
}

absl::Status ShardPrimary::Stopped() const {
  MutexLock lock(&mu_);
  return stopped_;
}

uint64_t ShardPrimary::CommitSeq() const {
  MutexLock lock(&mu_);
  return CommitSeqLocked();
}

uint64_t ShardPrimary::CommitSeqLocked() const {
  uint64_t commit = log_end_;
  for (const auto& [member, copy] : copies_) {
    if (copy.in_sync || copy.joining) {
      commit = std::min(commit, copy.logged_seq);
    }
  }
  return commit;
}

std::vector<CopyProgress> ShardPrimary::Copies() const {
  MutexLock lock(&mu_);
  std::vector<CopyProgress> out;
  for (const auto& [member, copy] : copies_) {
    out.push_back({member, copy.logged_seq, copy.last_seen, copy.in_sync});
  }
  return out;
}

absl::StatusOr<v1::WriteResponse> ShardPrimary::Write(
    const v1::WriteRequest& request) {
  {
    MutexLock lock(&mu_);
    SIFT_RETURN_IF_ERROR(stopped_);
    if (draining_) {
      return absl::UnavailableError(
          "the primary is handing over; write to the shard's new primary");
    }
  }
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<Index::PreparedWrite> prepared,
                        index_->PrepareWrite(request));
  SIFT_ASSIGN_OR_RETURN(const OpId id,
                        index_->AppendToLog(*prepared, options_.term));
  const absl::Time deadline = absl::Now() + options_.write_timeout;
  MutexLock lock(&mu_);
  log_end_ = std::max(log_end_, id.seq);
  if (!appended_at_.contains(id.seq) && id.seq > applied_) {
    appended_at_[id.seq] = absl::Now();
  }
  // The applying thread may have read this write back from the log
  // already; otherwise it uses the prepared one.
  if (id.seq > applying_) prepared_[id.seq] = std::move(prepared);
  changed_.SignalAll();
  while (applied_ < id.seq && stopped_.ok() && absl::Now() < deadline) {
    changed_.WaitWithDeadline(&mu_, deadline);
  }
  if (applied_ >= id.seq) {
    auto it = results_.find(id.seq);
    if (it != results_.end()) {
      v1::WriteResponse response = std::move(it->second);
      results_.erase(it);
      return response;
    }
    return absl::InternalError(
        absl::StrCat("write ", id.seq, " was applied without its result"));
  }
  // The write stays in the log and may still be applied: the request it
  // points to does not outlive this call, so the applying thread must not
  // see it, nor keep its result for nobody.
  given_up_.insert(id.seq);
  if (prepared_.erase(id.seq) == 0) {
    while (applying_ >= id.seq && applied_ < id.seq && !closing_) {
      changed_.Wait(&mu_);
    }
  }
  if (!stopped_.ok()) {
    return absl::Status(
        stopped_.code(),
        absl::StrCat("write ", id.seq,
                     " may or may not be applied: ", stopped_.message()));
  }
  return absl::UnavailableError(absl::StrCat(
      "write ", id.seq, " is logged but not yet confirmed by every in-sync ",
      "copy after ", absl::FormatDuration(options_.write_timeout),
      "; it may still be applied"));
}

void ShardPrimary::ApplyLoop() {
  if (!options_.gone.empty()) {
    const absl::Status published = PublishInSync();
    if (absl::IsFailedPrecondition(published)) StepDown(published);
  }
  MutexLock lock(&mu_);
  while (!closing_) {
    if (!stopped_.ok()) {
      changed_.WaitWithTimeout(&mu_, kTick);
      continue;
    }
    const uint64_t commit = CommitSeqLocked();
    if (commit <= applied_) {
      if (log_end_ > applied_) {
        mu_.Unlock();
        const bool dropped = DropLaggards();
        mu_.Lock();
        if (dropped) continue;
      }
      changed_.WaitWithTimeout(&mu_, kTick);
      continue;
    }
    // Fencing: a member that cannot be sure it still holds its lease (it
    // was paused, or lost etcd) acknowledges nothing more. Asked without
    // mu_: the answer comes from the member, under its own lock.
    if (options_.valid_until) {
      mu_.Unlock();
      const bool valid = absl::Now() < options_.valid_until();
      mu_.Lock();
      if (!valid) {
        stopped_ = absl::FailedPreconditionError(
            "this member's lease as primary may have expired; another copy "
            "may have taken over");
        changed_.SignalAll();
        continue;
      }
      // The commit point only grows; what changed meanwhile is whether to
      // go on at all.
      if (!stopped_.ok() || closing_) continue;
    }
    absl::flat_hash_map<uint64_t, std::unique_ptr<Index::PreparedWrite>> ready;
    for (uint64_t seq = applied_ + 1; seq <= commit; ++seq) {
      auto it = prepared_.find(seq);
      if (it == prepared_.end()) continue;
      ready[seq] = std::move(it->second);
      prepared_.erase(it);
    }
    const uint64_t from = applied_ + 1;
    applying_ = commit;
    mu_.Unlock();
    absl::StatusOr<std::vector<v1::WriteResponse>> responses =
        index_->ApplyLog(commit, &ready);
    ready.clear();
    mu_.Lock();
    if (!responses.ok()) {
      applying_ = applied_;
      stopped_ = absl::Status(
          responses.status().code(),
          absl::StrCat("applying logged writes failed; this member stops "
                       "being the primary: ",
                       responses.status().message()));
      changed_.SignalAll();
      continue;
    }
    for (size_t i = 0; i < responses->size(); ++i) {
      const uint64_t seq = from + i;
      if (seq >= first_own_seq_ && given_up_.erase(seq) == 0) {
        results_[seq] = std::move((*responses)[i]);
      }
      appended_at_.erase(seq);
    }
    applied_ = commit;
    changed_.SignalAll();
  }
}

bool ShardPrimary::DropLaggards() {
  {
    MutexLock lock(&mu_);
    if (appended_at_.empty()) return false;
    const auto& [oldest, since] = *appended_at_.begin();
    const absl::Time now = absl::Now();
    if (now - since < options_.copy_timeout) return false;
    bool any = false;
    for (auto& [member, copy] : copies_) {
      // Slow or gone, it has held this write up for copy_timeout.
      if ((copy.in_sync || copy.joining) && copy.logged_seq < oldest) {
        copy.leaving = true;
        any = true;
      }
    }
    if (!any) return false;
  }
  const absl::Status published = PublishInSync();
  if (!published.ok() && absl::IsFailedPrecondition(published)) {
    StepDown(published);
  }
  return published.ok();
}

absl::Status ShardPrimary::PublishInSync() {
  MutexLock publish_lock(&publish_mu_);
  std::vector<std::string> members = {options_.member};
  {
    MutexLock lock(&mu_);
    for (const auto& [member, copy] : copies_) {
      if ((copy.in_sync || copy.joining) && !copy.leaving) {
        members.push_back(member);
      }
    }
  }
  std::sort(members.begin(), members.end());
  const absl::Status written = options_.write_in_sync
                                   ? options_.write_in_sync(members)
                                   : absl::OkStatus();
  MutexLock lock(&mu_);
  for (auto& [member, copy] : copies_) {
    const bool listed =
        std::binary_search(members.begin(), members.end(), member);
    if (written.ok()) {
      copy.in_sync = listed;
      if (listed) copy.joining = false;
      if (!listed) copy.leaving = false;
    } else if (copy.joining && listed) {
      // The set with it was not written: nothing may wait for it.
      copy.joining = false;
    }
  }
  changed_.SignalAll();
  return written;
}

absl::StatusOr<v1::PullWritesResponse> ShardPrimary::Pull(
    const v1::PullWritesRequest& request) {
  v1::PullWritesResponse response;
  response.set_term(options_.term);
  if (request.term() > options_.term) {
    const absl::Status newer = absl::FailedPreconditionError(
        absl::StrCat("a copy follows term ", request.term(),
                     "; this member's term ", options_.term, " is over"));
    StepDown(newer);
    return newer;
  }
  if (request.term() < options_.term) {
    return absl::FailedPreconditionError(
        absl::StrCat("the caller follows term ", request.term(),
                     ", but this primary's term is ", options_.term));
  }
  {
    MutexLock lock(&mu_);
    SIFT_RETURN_IF_ERROR(stopped_);
  }
  // The caller's history must be a prefix of this one; a tail it logged
  // from an earlier primary, never applied, is dropped.
  if (request.last_seq() > index_->LogEnd().seq) {
    response.set_truncate(true);
    return response;
  }
  absl::StatusOr<uint64_t> term_there = index_->TermAt(request.last_seq());
  if (!term_there.ok()) {
    if (absl::IsNotFound(term_there.status())) {
      return absl::OutOfRangeError(
          absl::StrCat("the op log no longer holds write ", request.last_seq(),
                       "; the copy must start from a checkpoint"));
    }
    return term_there.status();
  }
  if (*term_there != request.last_term()) {
    response.set_truncate(true);
    return response;
  }

  bool join = false;
  {
    MutexLock lock(&mu_);
    Copy& copy = copies_[request.member()];
    copy.logged_seq = request.last_seq();
    copy.last_seen = absl::Now();
    // A copy joins once it has every write logged here: then no write was
    // acknowledged without it, and from now on none will be.
    if (!copy.in_sync && !copy.joining && copy.logged_seq >= log_end_) {
      copy.joining = true;
      join = true;
    }
    changed_.SignalAll();
  }
  if (join) {
    const absl::Status published = PublishInSync();
    if (absl::IsFailedPrecondition(published)) {
      StepDown(published);
      return published;
    }
  }

  const absl::Duration wait =
      std::min(absl::Milliseconds(request.wait_ms()), kMaxPullWait);
  const absl::Time deadline = absl::Now() + wait;
  uint64_t commit = 0;
  {
    MutexLock lock(&mu_);
    while (stopped_.ok() && log_end_ <= request.last_seq() &&
           CommitSeqLocked() <= request.known_commit_seq() &&
           absl::Now() < deadline) {
      changed_.WaitWithDeadline(&mu_, deadline);
    }
    SIFT_RETURN_IF_ERROR(stopped_);
    commit = CommitSeqLocked();
  }
  const size_t max_bytes =
      request.max_bytes() == 0
          ? kMaxPullBytes
          : std::min<size_t>(request.max_bytes(), kMaxPullBytes);
  SIFT_ASSIGN_OR_RETURN(std::vector<v1::LoggedWrite> writes,
                        index_->ReadOpLog(request.last_seq() + 1, max_bytes));
  for (v1::LoggedWrite& write : writes) {
    *response.add_writes() = std::move(write);
  }
  response.set_commit_seq(commit);
  response.set_primary_last_seq(index_->LogEnd().seq);
  return response;
}

}  // namespace sift::storage
