#ifndef SIFT_SERVICES_STORAGE_REPLICATION_SHARD_PRIMARY_H_
#define SIFT_SERVICES_STORAGE_REPLICATION_SHARD_PRIMARY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sync/mutex.h"
#include "services/storage/index.h"
#include "sift/v1/replication.pb.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage {

// Records a shard's in-sync set where failover reads it (etcd, in a
// transaction that checks the caller still is the primary of its term).
// OK only once the set is durably changed; FAILED_PRECONDITION when the
// caller is no longer the primary; any other error leaves the set as it
// was, to be tried again.
using InSyncWriter =
    std::function<absl::Status(const std::vector<std::string>& members)>;

struct PrimaryOptions {
  // This member's name.
  std::string member;
  // The term this member was elected for.
  uint64_t term = 0;
  // The in-sync set the election found (this member among them, or the
  // set empty for a new shard).
  std::vector<std::string> in_sync;
  // Members of `in_sync` known to be gone (not registered in etcd): they
  // leave the set before the first write is acknowledged, instead of
  // holding it up for copy_timeout.
  std::vector<std::string> gone;
  InSyncWriter write_in_sync;
  // Until when this member is certainly still the primary (its lease in
  // etcd); it applies and acknowledges nothing after that. Unset: always.
  std::function<absl::Time()> valid_until;
  // A copy that holds up a write this long leaves the in-sync set.
  absl::Duration copy_timeout = absl::Seconds(2);
  // How long a write waits for its copies before it fails UNAVAILABLE
  // (it may still be applied later: its outcome is then unknown).
  absl::Duration write_timeout = absl::Seconds(30);
};

// How far a copy has got, as the primary sees it.
struct CopyProgress {
  std::string member;
  // The last write the copy has in its log.
  uint64_t logged_seq = 0;
  absl::Time last_seen;
  bool in_sync = false;
};

// The primary's side of a shard's replication (docs/replication.md).
//
// A write is prepared, appended to the primary's op log with the next
// sequence number, and applied (made searchable and acknowledged) once
// every copy of the in-sync set has it in its log: the copies pull the
// log (Pull), and what a copy asks for next says what it has. A copy that
// holds a write up past `copy_timeout` is removed from the in-sync set,
// durably, before anything is acknowledged without it; a copy that has
// caught up joins it, durably, before anything waits for it. So every
// acknowledged write is in the log of every in-sync copy, and any of them
// can take over without losing one.
//
// Thread-safe. Once stepped down (StepDown, a newer term seen, the lease
// passed, a storage error) it refuses writes and pulls for good; the
// member then starts over from etcd.
class ShardPrimary {
 public:
  // `index` must outlive the primary. Starts the applying thread.
  ShardPrimary(Index* index, PrimaryOptions options);
  ~ShardPrimary();
  ShardPrimary(const ShardPrimary&) = delete;
  ShardPrimary& operator=(const ShardPrimary&) = delete;

  // Orders, replicates and applies one write (checked by the caller);
  // FAILED_PRECONDITION once stepped down, UNAVAILABLE when the copies did
  // not confirm it within write_timeout.
  absl::StatusOr<v1::WriteResponse> Write(const v1::WriteRequest& request);

  // A copy's pull: its progress in, the writes after it out (waiting up to
  // the request's wait_ms for some).
  absl::StatusOr<v1::PullWritesResponse> Pull(
      const v1::PullWritesRequest& request);

  // Refuses everything from now on, with `why`; waiting writes fail.
  void StepDown(const absl::Status& why);
  // Refuses new writes, waits up to `deadline` for the ones logged to be
  // applied (every in-sync copy then has the whole log, so that the next
  // primary starts where this one ends), then steps down.
  void Drain(absl::Time deadline);
  // OK while this is the primary; why it is not any more otherwise.
  absl::Status Stopped() const;

  uint64_t term() const { return options_.term; }
  // The last write every in-sync copy has.
  uint64_t CommitSeq() const;
  std::vector<CopyProgress> Copies() const;

 private:
  struct Copy {
    uint64_t logged_seq = 0;
    absl::Time last_seen;
    bool in_sync = false;
    // Counted for the commit point while the set with it is written.
    bool joining = false;
    // Still counted while the set without it is written.
    bool leaving = false;
  };

  uint64_t CommitSeqLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyLoop();
  // Copies that hold up the oldest write waiting past copy_timeout are
  // taken out of the in-sync set; false when there were none.
  bool DropLaggards();
  // Writes the in-sync set as it now stands (members joining in, members
  // leaving out) and settles the joins and departures it records.
  absl::Status PublishInSync();

  Index* const index_;
  const PrimaryOptions options_;

  // Serialises PublishInSync calls; taken before mu_.
  Mutex publish_mu_;

  mutable Mutex mu_;
  CondVar changed_;
  absl::Status stopped_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Copy> copies_ ABSL_GUARDED_BY(mu_);
  // The last write appended to the log, and when each write not yet
  // applied was appended.
  uint64_t log_end_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, absl::Time> appended_at_ ABSL_GUARDED_BY(mu_);
  uint64_t applied_ ABSL_GUARDED_BY(mu_) = 0;
  // Writes up to here are being applied; their prepared writes are in use.
  uint64_t applying_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Index::PreparedWrite>> prepared_
      ABSL_GUARDED_BY(mu_);
  // The first write this primary appends: results are kept from there on.
  uint64_t first_own_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // Results of applied writes until their Write call takes them. The
  // applying thread may apply a write before that call gets mu_ back after
  // appending it (a later write raised log_end_ and the copies already
  // have it), so every result is kept but those of writes whose call gave
  // up waiting (`given_up_`).
  std::map<uint64_t, v1::WriteResponse> results_ ABSL_GUARDED_BY(mu_);
  std::set<uint64_t> given_up_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;

  std::thread applier_;
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_REPLICATION_SHARD_PRIMARY_H_
