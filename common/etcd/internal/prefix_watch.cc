#include "common/etcd/internal/prefix_watch.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sift::etcd::internal {
namespace {

// Pause between two attempts to open a stream, doubling while no member
// accepts the watch.
constexpr absl::Duration kMinRetryDelay = absl::Milliseconds(50);
constexpr absl::Duration kMaxRetryDelay = absl::Seconds(1);
// How long to wait for a connection to a member before trying the next.
constexpr absl::Duration kConnectTimeout = absl::Seconds(2);
// How long destroying a watch may wait for a wait on a connection to end.
constexpr absl::Duration kStopLatency = absl::Milliseconds(100);

}  // namespace

PrefixWatch::PrefixWatch(
    std::shared_ptr<Members> members, std::string prefix,
    int64_t start_revision,
    std::function<void(const std::vector<WatchEvent>&)> on_events,
    std::function<void(const absl::Status&)> on_error)
    : members_(std::move(members)),
      prefix_(std::move(prefix)),
      on_events_(std::move(on_events)),
      on_error_(std::move(on_error)),
      next_revision_(std::max<int64_t>(start_revision, 0)) {
  thread_ = std::thread([this] { Run(); });
}

PrefixWatch::~PrefixWatch() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  stop_cv_.SignalAll();
  thread_.join();
}

void PrefixWatch::Run() {
  absl::Duration retry_delay = kMinRetryDelay;
  size_t i = members_->Preferred();
  while (true) {
    bool created = false;
    if (RunStream(i, &created) == StreamEnd::kDone) return;
    members_->MarkFailed(i);
    i = (i + 1) % members_->size();
    retry_delay =
        created ? kMinRetryDelay : std::min(retry_delay * 2, kMaxRetryDelay);
    MutexLock lock(&mu_);
    const absl::Time retry_at = absl::Now() + retry_delay;
    while (!stopping_ && !stop_cv_.WaitWithDeadline(&mu_, retry_at)) {
    }
    if (stopping_) return;
  }
}

PrefixWatch::StreamEnd PrefixWatch::RunStream(size_t i, bool* created) {
  const Member& member = members_->member(i);
  // In slices, so that the destructor need not wait for a connection.
  const absl::Time connect_by = absl::Now() + kConnectTimeout;
  while (true) {
    {
      MutexLock lock(&mu_);
      if (stopping_) return StreamEnd::kDone;
    }
    absl::Status connected =
        members_->Connect(i, std::min(connect_by, absl::Now() + kStopLatency));
    if (connected.ok()) break;
    if (!absl::IsDeadlineExceeded(connected) || absl::Now() >= connect_by) {
      return StreamEnd::kBroken;
    }
  }
  grpc::ClientContext context;
  // A member cut off from the leader would keep the stream open and send
  // nothing; asked this way, it closes the stream (UNAVAILABLE) instead, and
  // the watch moves on to another member.
  context.AddMetadata("hasleader", "true");
  {
    MutexLock lock(&mu_);
    if (stopping_) return StreamEnd::kDone;
    context_ = &context;
  }
  auto stream = member.watch->Watch(&context);

  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  KeyRange range = PrefixRange(prefix_);
  create->set_key(std::move(range.key));
  create->set_range_end(std::move(range.range_end));
  create->set_start_revision(next_revision_);

  absl::Status error;  // Set when the watch is over.
  if (stream->Write(request)) {
    etcdserverpb::WatchResponse response;
    std::vector<WatchEvent> events;
    while (stream->Read(&response)) {
      if (response.created()) {
        *created = true;
        // The watch reports the changes after the revision it was created
        // at.
        if (next_revision_ == 0) {
          next_revision_ = response.header().revision() + 1;
        }
      }
      if (response.compact_revision() != 0) {
        error = absl::OutOfRangeError(absl::StrCat(
            "etcd ", member.address, ": Watch \"", prefix_, "\" from revision ",
            next_revision_, ": compacted; the oldest revision left is ",
            response.compact_revision()));
        break;
      }
      if (response.canceled()) {
        error = absl::FailedPreconditionError(
            absl::StrCat("etcd ", member.address, ": Watch \"", prefix_,
                         "\": canceled: ", response.cancel_reason()));
        break;
      }
      if (response.events_size() == 0) continue;
      events.clear();
      for (const mvccpb::Event& e : response.events()) {
        WatchEvent& event = events.emplace_back();
        event.type = e.type() == mvccpb::Event::DELETE
                         ? WatchEvent::Type::kDelete
                         : WatchEvent::Type::kPut;
        event.kv = FromProto(e.kv());
      }
      next_revision_ = events.back().kv.mod_revision + 1;
      on_events_(events);
    }
  }
  // After an error the stream is still open on etcd's side.
  if (!error.ok()) context.TryCancel();
  // Why the stream broke is ignored: the watch tries again in any case,
  // and on_error is only for the end of the watch.
  stream->Finish();
  {
    MutexLock lock(&mu_);
    context_ = nullptr;
    if (stopping_) return StreamEnd::kDone;
  }
  if (error.ok()) return StreamEnd::kBroken;
  if (on_error_) on_error_(error);
  return StreamEnd::kDone;
}

}  // namespace sift::etcd::internal
