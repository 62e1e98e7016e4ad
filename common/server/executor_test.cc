#include "common/server/executor.h"

#include <atomic>

#include "common/sync/mutex.h"
#include "gtest/gtest.h"

namespace sift {
namespace {

TEST(ExecutorTest, RunsEveryTaskBeforeDestruction) {
  std::atomic<int> done{0};
  {
    Executor executor(2, 1000);
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(executor.TrySchedule([&done] { done.fetch_add(1); }));
    }
  }
  EXPECT_EQ(done.load(), 100);
}

TEST(ExecutorTest, RefusesBeyondTheQueueBound) {
  Notification release;
  Notification started;
  Executor executor(1, 2);
  ASSERT_TRUE(executor.TrySchedule([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();
  EXPECT_TRUE(executor.TrySchedule([] {}));
  EXPECT_TRUE(executor.TrySchedule([] {}));
  EXPECT_FALSE(executor.TrySchedule([] {}));
  release.Notify();
}

}  // namespace
}  // namespace sift
