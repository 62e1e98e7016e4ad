#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/etcd/client.h"
#include "common/etcd/testing/etcd_server.h"
#include "common/etcd/testing/poll.h"
#include "common/status/status_matchers.h"
#include "common/sync/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::etcd {
namespace {

using ::sift::etcd::testing::EtcdCluster;
using ::sift::etcd::testing::EtcdServer;
using ::sift::etcd::testing::PollUntil;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr absl::Duration kPatience = absl::Seconds(20);

// "put KEY=VALUE" or "delete KEY".
std::string Describe(const WatchEvent& event) {
  return event.type == WatchEvent::Type::kPut
             ? absl::StrCat("put ", event.kv.key, "=", event.kv.value)
             : absl::StrCat("delete ", event.kv.key);
}

// What a watch delivered, filled in from its thread.
class Recorder {
 public:
  std::function<void(const std::vector<WatchEvent>&)> OnEvents() {
    return [this](const std::vector<WatchEvent>& events) {
      MutexLock lock(&mu_);
      batches_.push_back(events);
      for (const WatchEvent& e : events) events_.push_back(e);
      cv_.SignalAll();
    };
  }
  std::function<void(const absl::Status&)> OnError() {
    return [this](const absl::Status& status) {
      MutexLock lock(&mu_);
      error_ = status;
      cv_.SignalAll();
    };
  }

  // Waits until `n` events came; returns every event so far.
  std::vector<WatchEvent> WaitForEvents(size_t n) {
    const absl::Time deadline = absl::Now() + kPatience;
    MutexLock lock(&mu_);
    while (events_.size() < n && !cv_.WaitWithDeadline(&mu_, deadline)) {
    }
    return events_;
  }
  std::optional<absl::Status> WaitForError() {
    const absl::Time deadline = absl::Now() + kPatience;
    MutexLock lock(&mu_);
    while (!error_.has_value() && !cv_.WaitWithDeadline(&mu_, deadline)) {
    }
    return error_;
  }

  std::vector<WatchEvent> events() {
    MutexLock lock(&mu_);
    return events_;
  }
  std::vector<std::vector<WatchEvent>> batches() {
    MutexLock lock(&mu_);
    return batches_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::vector<WatchEvent> events_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<WatchEvent>> batches_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> error_ ABSL_GUARDED_BY(mu_);
};

std::vector<std::string> Describe(const std::vector<WatchEvent>& events) {
  std::vector<std::string> out;
  for (const WatchEvent& e : events) out.push_back(Describe(e));
  return out;
}

class EtcdWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SIFT_ASSERT_OK_AND_ASSIGN(server_, EtcdServer::Start());
    SIFT_ASSERT_OK_AND_ASSIGN(client_, Client::Connect(server_->endpoint()));
  }

  std::unique_ptr<EtcdServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(EtcdWatchTest, DeliversEarlierAndLaterChangesInRevisionOrder) {
  SIFT_ASSERT_OK_AND_ASSIGN(int64_t first, client_->Put("w/a", "1"));
  ASSERT_THAT(client_->Put("w/b", "2"), IsOk());
  ASSERT_THAT(client_->Delete("w/a"), IsOk());
  ASSERT_THAT(client_->Put("elsewhere", "x"), IsOk());

  Recorder recorder;
  std::unique_ptr<Client::Watch> watch = client_->WatchPrefix(
      "w/", first, recorder.OnEvents(), recorder.OnError());
  EXPECT_THAT(Describe(recorder.WaitForEvents(3)),
              ElementsAre("put w/a=1", "put w/b=2", "delete w/a"));

  // One Txn is one revision: its changes come in one call.
  ASSERT_THAT(client_->Txn({}, {Op::Put("w/c", "3"), Op::Put("w/d", "4"),
                                Op::Put("elsewhere", "y")}),
              IsOk());
  std::vector<WatchEvent> events = recorder.WaitForEvents(5);
  EXPECT_THAT(Describe(events),
              ElementsAre("put w/a=1", "put w/b=2", "delete w/a", "put w/c=3",
                          "put w/d=4"));
  EXPECT_EQ(events[0].kv.mod_revision, first);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_LT(events[i - 1].kv.mod_revision, events[i].kv.mod_revision);
  }
  EXPECT_EQ(events[3].kv.mod_revision, events[4].kv.mod_revision);
  EXPECT_EQ(recorder.batches().back().size(), 2u);

  // Nothing comes once the watch is destroyed.
  watch.reset();
  ASSERT_THAT(client_->Put("w/e", "5"), IsOk());
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(recorder.events().size(), 5u);
}

TEST_F(EtcdWatchTest, StartRevisionZeroWatchesFromNow) {
  ASSERT_THAT(client_->Put("w/old", "x"), IsOk());
  Recorder recorder;
  std::unique_ptr<Client::Watch> watch =
      client_->WatchPrefix("w/", 0, recorder.OnEvents(), recorder.OnError());
  // The watch starts in the background: write until it reports something.
  int puts = 0;
  EXPECT_TRUE(PollUntil(
      [&] {
        EXPECT_THAT(client_->Put("w/new", absl::StrCat(puts++)), IsOk());
        return !recorder.events().empty();
      },
      kPatience));
  EXPECT_THAT(Describe(recorder.events()), Not(Contains("put w/old=x")));
}

TEST_F(EtcdWatchTest, ResumesAfterAServerRestartWithoutLossOrRepeats) {
  Recorder recorder;
  SIFT_ASSERT_OK_AND_ASSIGN(int64_t before, client_->Put("unrelated", "x"));
  std::unique_ptr<Client::Watch> watch = client_->WatchPrefix(
      "w/", before + 1, recorder.OnEvents(), recorder.OnError());
  ASSERT_THAT(client_->Put("w/1", "a"), IsOk());
  ASSERT_THAT(Describe(recorder.WaitForEvents(1)), ElementsAre("put w/1=a"));

  ASSERT_THAT(server_->Stop(), IsOk());
  ASSERT_THAT(server_->Restart(), IsOk());
  // The client reconnects by itself, within about a second.
  EXPECT_TRUE(
      PollUntil([&] { return client_->Put("w/2", "b").ok(); }, kPatience));
  ASSERT_THAT(client_->Put("w/3", "c"), IsOk());
  EXPECT_THAT(Describe(recorder.WaitForEvents(3)),
              ElementsAre("put w/1=a", "put w/2=b", "put w/3=c"));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(recorder.events().size(), 3u);
}

TEST_F(EtcdWatchTest, ReportsACompactedStartRevisionAsOutOfRange) {
  SIFT_ASSERT_OK_AND_ASSIGN(int64_t first, client_->Put("w/a", "1"));
  ASSERT_THAT(client_->Put("w/a", "2"), IsOk());
  SIFT_ASSERT_OK_AND_ASSIGN(int64_t last, client_->Put("w/a", "3"));
  ASSERT_THAT(client_->Compact(last), IsOk());
  EXPECT_THAT(client_->Compact(first), StatusIs(absl::StatusCode::kOutOfRange));

  Recorder recorder;
  std::unique_ptr<Client::Watch> watch = client_->WatchPrefix(
      "w/", first, recorder.OnEvents(), recorder.OnError());
  std::optional<absl::Status> error = recorder.WaitForError();
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(*error, StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(recorder.events(), IsEmpty());
}

TEST(EtcdWatchClusterTest, ResumesOnAnotherMemberWithoutLossOrRepeats) {
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<EtcdCluster> cluster,
                            EtcdCluster::Start(3));
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client,
                            Client::Connect(cluster->endpoints()));
  SIFT_ASSERT_OK_AND_ASSIGN(int64_t before, client->Put("unrelated", "x"));
  Recorder recorder;
  std::unique_ptr<Client::Watch> watch = client->WatchPrefix(
      "w/", before + 1, recorder.OnEvents(), recorder.OnError());
  ASSERT_THAT(client->Put("w/0", "x"), IsOk());
  ASSERT_EQ(recorder.WaitForEvents(1).size(), 1u);

  // The watch reads from the first member; stopping it breaks the stream.
  ASSERT_THAT(cluster->member(0).Stop(), IsOk());
  // A put that fails may still have been applied; distinct keys keep
  // every attempt apart.
  int attempt = 0;
  EXPECT_TRUE(PollUntil(
      [&] { return client->Put(absl::StrCat("w/1-", attempt++), "x").ok(); },
      kPatience));
  ASSERT_THAT(client->Put("w/2", "x"), IsOk());

  int64_t revision = 0;
  SIFT_ASSERT_OK_AND_ASSIGN(std::vector<KeyValue> stored,
                            client->GetPrefix("w/", &revision));
  std::vector<std::string> expected;
  for (const KeyValue& kv : stored) {
    expected.push_back(Describe(WatchEvent{WatchEvent::Type::kPut, kv}));
  }
  std::sort(expected.begin(), expected.end());
  recorder.WaitForEvents(stored.size());
  // Any repeat would come right behind.
  absl::SleepFor(absl::Milliseconds(200));
  std::vector<std::string> seen = Describe(recorder.events());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, expected);
  std::vector<WatchEvent> events = recorder.events();
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LT(events[i - 1].kv.mod_revision, events[i].kv.mod_revision);
  }
}

}  // namespace
}  // namespace sift::etcd
