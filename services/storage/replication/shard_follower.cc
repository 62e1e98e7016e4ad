#include "services/storage/replication/shard_follower.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/server/channels.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace sift::storage {

ShardFollower::ShardFollower(Index* index, FollowerOptions options)
    : index_(index), options_(std::move(options)) {
  grpc::ChannelArguments args = DefaultChannelArguments();
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  stub_ = v1::ReplicationService::NewStub(
      MakeChannel(options_.primary_address, args));
  applier_ = std::thread([this] { ApplyLoop(); });
  thread_ = std::thread([this] { Run(); });
}

ShardFollower::~ShardFollower() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    if (call_ != nullptr) call_->TryCancel();
    stop_cv_.SignalAll();
  }
  thread_.join();
  {
    MutexLock lock(&apply_mu_);
    apply_stopping_ = true;
    apply_cv_.SignalAll();
  }
  applier_.join();
}

void ShardFollower::ApplyLoop() {
  absl::Duration backoff = absl::Milliseconds(50);
  MutexLock lock(&apply_mu_);
  while (true) {
    while (!apply_stopping_ && apply_target_ <= index_->LastOp().seq) {
      apply_cv_.Wait(&apply_mu_);
    }
    if (apply_stopping_) return;
    const uint64_t target = apply_target_;
    absl::flat_hash_map<uint64_t, std::unique_ptr<Index::PreparedWrite>> ready;
    for (auto it = prepared_.begin(); it != prepared_.end();) {
      if (it->first <= target) {
        ready.insert(prepared_.extract(it++));
      } else {
        ++it;
      }
    }
    applying_ = true;
    apply_mu_.Unlock();
    // Writes not in `ready` (a failed apply's, or ones not prepared) are
    // read back from the log.
    const absl::Status applied = index_->ApplyLog(target, &ready).status();
    apply_mu_.Lock();
    applying_ = false;
    apply_error_ = applied;
    apply_cv_.SignalAll();
    if (applied.ok()) {
      backoff = absl::Milliseconds(50);
    } else {
      apply_cv_.WaitWithTimeout(&apply_mu_, backoff);
      backoff = std::min(backoff * 2, absl::Seconds(1));
    }
  }
}

void ShardFollower::StopApplying() {
  MutexLock lock(&apply_mu_);
  while (applying_) apply_cv_.Wait(&apply_mu_);
  apply_target_ = index_->LastOp().seq;
  prepared_.clear();
}

FollowerState ShardFollower::State() const {
  MutexLock lock(&mu_);
  return state_;
}

void ShardFollower::Run() {
  uint64_t known_commit = 0;
  absl::Duration backoff = absl::Milliseconds(50);
  while (true) {
    const absl::Status status = Step(&known_commit);
    MutexLock lock(&mu_);
    if (stopping_) return;
    state_.last_error = status;
    if (status.ok()) {
      state_.needs_checkpoint = false;
      backoff = absl::Milliseconds(50);
      continue;
    }
    if (absl::IsOutOfRange(status)) state_.needs_checkpoint = true;
    stop_cv_.WaitWithTimeout(&mu_, backoff);
    if (stopping_) return;
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
}

absl::Status ShardFollower::Step(uint64_t* known_commit) {
  const OpId end = index_->LogEnd();
  v1::PullWritesRequest request;
  request.set_member(options_.member);
  request.set_shard(options_.shard.shard);
  request.set_shard_count(options_.shard.count);
  request.set_term(options_.term);
  request.set_last_seq(end.seq);
  request.set_last_term(end.term);
  request.set_max_bytes(static_cast<uint32_t>(options_.max_pull_bytes));
  request.set_wait_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.pull_wait)));
  request.set_known_commit_seq(*known_commit);

  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + options_.pull_wait + absl::Seconds(5)));
  context.AddMetadata(kShardMetadataKey, FormatShardRef(options_.shard));
  {
    MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    call_ = &context;
  }
  v1::PullWritesResponse response;
  const grpc::Status called = stub_->PullWrites(&context, request, &response);
  {
    MutexLock lock(&mu_);
    call_ = nullptr;
  }
  if (!called.ok()) {
    const absl::Status status = FromGrpcStatus(called);
    return absl::Status(
        status.code(),
        absl::StrCat("pulling from the primary at ", options_.primary_address,
                     ": ", status.message()));
  }
  if (response.truncate()) {
    // Everything applied here is in the primary's log (it was committed);
    // the rest is dropped and asked for again. If nothing is left to drop,
    // the histories differ where they should not: start over from a
    // checkpoint rather than ask forever.
    if (index_->LogEnd().seq == index_->LastOp().seq) {
      return absl::OutOfRangeError(absl::StrCat(
          "this copy's applied writes (up to ", index_->LastOp().seq,
          ") differ from the primary's history; it must start from a "
          "checkpoint"));
    }
    StopApplying();
    return index_->TruncateLog(index_->LastOp().seq);
  }
  if (response.writes_size() > 0) {
    std::vector<v1::LoggedWrite> writes(
        std::make_move_iterator(response.mutable_writes()->begin()),
        std::make_move_iterator(response.mutable_writes()->end()));
    SIFT_RETURN_IF_ERROR(index_->AppendLogged(writes));
    // Kept prepared for when the commit point passes them, rather than
    // read back from the log then.
    for (v1::LoggedWrite& write : writes) {
      const uint64_t seq = write.seq();
      SIFT_ASSIGN_OR_RETURN(std::unique_ptr<Index::PreparedWrite> prepared,
                            index_->PrepareLogged(std::move(write)));
      MutexLock lock(&apply_mu_);
      prepared_[seq] = std::move(prepared);
    }
  }
  {
    MutexLock lock(&apply_mu_);
    SIFT_RETURN_IF_ERROR(apply_error_);
    const uint64_t apply_to =
        std::min(response.commit_seq(), index_->LogEnd().seq);
    if (apply_to > apply_target_) {
      apply_target_ = apply_to;
      apply_cv_.Signal();
    }
  }
  *known_commit = response.commit_seq();
  MutexLock lock(&mu_);
  state_.primary_last_seq = response.primary_last_seq();
  state_.commit_seq = response.commit_seq();
  return absl::OkStatus();
}

}  // namespace sift::storage
