#include "services/storage/segment/search_helpers.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sift::storage::segment {
namespace {

SearchHelpers::Options WithThreads(int threads, int processors) {
  SearchHelpers::Options options;
  options.threads = threads;
  options.processors = processors;
  return options;
}

// A helper thread waits for work only some time after it starts.
std::shared_ptr<SearchHelpers::Part> HandWhenIdle(SearchHelpers& helpers,
                                                  std::function<void()> task) {
  const absl::Time end = absl::Now() + absl::Seconds(10);
  while (absl::Now() < end) {
    if (auto part = helpers.TryHand(task)) return part;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return nullptr;
}

TEST(SearchHelpersTest, EveryPartRunsExactlyOnce) {
  SearchHelpers helpers(WithThreads(2, 64));
  constexpr int kParts = 2000;
  std::vector<std::atomic<int>> runs(kParts);
  // Once a helper waits for work.
  auto first = HandWhenIdle(helpers, [] {});
  ASSERT_NE(first, nullptr);
  first->Join();
  int handed = 1;
  for (int i = 0; i < kParts; ++i) {
    auto part = helpers.TryHand([&runs, i] { runs[i].fetch_add(1); });
    if (part == nullptr) {
      runs[i].fetch_add(1);  // as a search runs its part when none is idle
      continue;
    }
    ++handed;
    // Either a helper has it, or this thread runs it now; then it is done.
    part->Join();
    EXPECT_EQ(runs[i].load(), 1) << i;
  }
  for (int i = 0; i < kParts; ++i) EXPECT_EQ(runs[i].load(), 1) << i;
  EXPECT_GT(handed, 0);
  EXPECT_EQ(helpers.parts_handed(), static_cast<uint64_t>(handed));
}

TEST(SearchHelpersTest, AHelperRunsThePartWhileTheSearchWorks) {
  SearchHelpers helpers(WithThreads(1, 64));
  std::atomic<bool> on_helper{false};
  const std::thread::id self = std::this_thread::get_id();
  std::atomic<bool> release{false};
  auto part = HandWhenIdle(helpers, [&] {
    on_helper = std::this_thread::get_id() != self;
    while (!release.load()) std::this_thread::yield();
  });
  ASSERT_NE(part, nullptr);
  // The helper took it (it spins until released): only then does Join
  // wait rather than run it here.
  const absl::Time end = absl::Now() + absl::Seconds(10);
  while (!on_helper.load() && absl::Now() < end) std::this_thread::yield();
  EXPECT_TRUE(on_helper.load());
  release = true;
  part->Join();
}

TEST(SearchHelpersTest, NothingIsHandedOverWhileTheProcessorsAreBusy) {
  SearchHelpers helpers(WithThreads(1, 2));
  SearchHelpers::Running first(&helpers);
  // One search: a processor is free.
  auto part = HandWhenIdle(helpers, [] {});
  ASSERT_NE(part, nullptr);
  part->Join();
  SearchHelpers::Running second(&helpers);
  EXPECT_EQ(helpers.TryHand([] {}), nullptr);
}

TEST(SearchHelpersTest, WithoutThreadsNothingIsHandedOver) {
  SearchHelpers helpers(WithThreads(0, 64));
  EXPECT_EQ(helpers.TryHand([] {}), nullptr);
  EXPECT_EQ(helpers.parts_handed(), 0u);
}

}  // namespace
}  // namespace sift::storage::segment
