#include "services/storage/write_queue.h"

#include <thread>
#include <vector>

#include "common/sync/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::storage {
namespace {

struct Item {
  int value = 0;
  int result = -1;
  int group = -1;
};

// Writers that queue while a commit is under way share the next commit,
// each getting its own result, in arrival order.
TEST(WriteQueueTest, WritersArrivingDuringACommitShareTheNext) {
  WriteQueue<Item> queue(16);
  Mutex mu;
  CondVar cv;
  bool release = false;
  int commits = 0;
  std::vector<std::vector<int>> groups;
  auto commit = [&](absl::Span<Item* const> group) {
    MutexLock lock(&mu);
    const int number = commits++;
    std::vector<int> values;
    for (Item* item : group) {
      item->result = item->value * 10;
      item->group = number;
      values.push_back(item->value);
    }
    groups.push_back(values);
    cv.SignalAll();
    // The first commit waits until the others have queued behind it.
    while (number == 0 && !release) cv.Wait(&mu);
  };
  Item first{1};
  std::thread leader([&] { queue.Submit(&first, commit); });
  {
    MutexLock lock(&mu);
    while (commits == 0) cv.Wait(&mu);
  }
  std::vector<Item> items(5);
  std::vector<std::thread> writers;
  for (int i = 0; i < 5; ++i) {
    items[i].value = 2 + i;
    writers.emplace_back([&, i] { queue.Submit(&items[i], commit); });
  }
  while (queue.QueuedForTesting() < 6) std::this_thread::yield();
  {
    MutexLock lock(&mu);
    release = true;
    cv.SignalAll();
  }
  leader.join();
  for (auto& w : writers) w.join();
  EXPECT_EQ(first.result, 10);
  EXPECT_EQ(first.group, 0);
  for (const Item& item : items) {
    EXPECT_EQ(item.result, item.value * 10);
    EXPECT_GE(item.group, 1);
  }
  // The five that queued behind the first commit shared the second.
  EXPECT_EQ(commits, 2);
  int committed = 0;
  for (const auto& g : groups) committed += static_cast<int>(g.size());
  EXPECT_EQ(committed, 6);
}

// Under load from many threads every item is committed exactly once, and
// no group is larger than the limit.
TEST(WriteQueueTest, EveryItemIsCommittedOnceWithinTheGroupLimit) {
  WriteQueue<Item> queue(3);
  Mutex mu;
  int committed = 0;
  size_t largest = 0;
  std::vector<std::thread> threads;
  std::vector<Item> items(400);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 400; i += 8) {
        items[i].value = i;
        queue.Submit(&items[i], [&](absl::Span<Item* const> group) {
          MutexLock lock(&mu);
          largest = std::max(largest, group.size());
          for (Item* item : group) {
            EXPECT_EQ(item->result, -1) << "committed twice";
            item->result = item->value;
            ++committed;
          }
        });
        EXPECT_EQ(items[i].result, i);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(committed, 400);
  EXPECT_LE(largest, 3u);
}

}  // namespace
}  // namespace sift::storage
