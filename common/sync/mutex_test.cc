#include "common/sync/mutex.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sift {
namespace {

// Long enough that a wait this long only ends early on a bug, even in a
// sanitizer build on a loaded machine.
constexpr absl::Duration kPatience = absl::Seconds(30);

TEST(MutexTest, ExcludesWriters) {
  Mutex mu;
  int counter = 0;
  constexpr int kThreads = 4;
  constexpr int kIncrements = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        MutexLock lock(&mu);
        ++counter;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter, kThreads * kIncrements);
}

TEST(MutexTest, TryLockFailsWhileHeld) {
  Mutex mu;
  mu.Lock();
  bool taken = true;
  bool reader_taken = true;
  std::thread other([&] {
    taken = mu.TryLock();
    reader_taken = mu.ReaderTryLock();
  });
  other.join();
  EXPECT_FALSE(taken);
  EXPECT_FALSE(reader_taken);
  mu.Unlock();
  bool retaken = false;
  if (mu.TryLock()) {
    retaken = true;
    mu.Unlock();
  }
  EXPECT_TRUE(retaken);
}

TEST(MutexTest, ReadersShareTheLock) {
  Mutex mu;
  std::atomic<int> inside{0};
  std::atomic<bool> both_seen{true};
  auto reader = [&] {
    ReaderMutexLock lock(&mu);
    inside.fetch_add(1);
    // Only possible if the other reader gets in while this one holds it.
    const absl::Time end = absl::Now() + kPatience;
    while (inside.load() < 2) {
      if (absl::Now() > end) {
        both_seen = false;
        return;
      }
      std::this_thread::yield();
    }
  };
  std::thread a(reader);
  std::thread b(reader);
  a.join();
  b.join();
  EXPECT_TRUE(both_seen.load());
}

TEST(MutexTest, WriterExcludesReaders) {
  Mutex mu;
  ReaderMutexLock reader(&mu);
  bool taken = true;
  std::thread writer([&] { taken = mu.TryLock(); });
  writer.join();
  EXPECT_FALSE(taken);
}

TEST(MutexTest, ReaderSeesWhatTheWriterWrote) {
  Mutex mu;
  int value = 0;
  bool written = false;
  std::thread writer([&] {
    MutexLock lock(&mu);
    value = 42;
    written = true;
  });
  int seen = 0;
  while (true) {
    ReaderMutexLock lock(&mu);
    if (written) {
      seen = value;
      break;
    }
  }
  writer.join();
  EXPECT_EQ(seen, 42);
}

TEST(CondVarTest, SignalWakesAWaiter) {
  Mutex mu;
  CondVar cv;
  bool ready = false;
  bool woke = false;
  std::thread waiter([&] {
    MutexLock lock(&mu);
    while (!ready) cv.Wait(&mu);
    woke = true;
  });
  {
    MutexLock lock(&mu);
    ready = true;
  }
  cv.Signal();
  waiter.join();
  EXPECT_TRUE(woke);
}

TEST(CondVarTest, SignalAllWakesEveryWaiter) {
  Mutex mu;
  CondVar cv;
  bool go = false;
  int waiting = 0;
  int woken = 0;
  CondVar waiting_changed;
  constexpr int kWaiters = 5;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&] {
      MutexLock lock(&mu);
      ++waiting;
      waiting_changed.Signal();
      while (!go) cv.Wait(&mu);
      ++woken;
    });
  }
  {
    MutexLock lock(&mu);
    while (waiting < kWaiters) waiting_changed.Wait(&mu);
    go = true;
    cv.SignalAll();
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(woken, kWaiters);
}

TEST(CondVarTest, WaitWithTimeoutTimesOut) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  const absl::Time start = absl::Now();
  bool timed_out = false;
  // Spurious wake-ups are allowed: wait until the time has run out.
  while (!timed_out) {
    timed_out =
        cv.WaitWithTimeout(&mu, absl::Milliseconds(50) - (absl::Now() - start));
  }
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

TEST(CondVarTest, WaitWithDeadlineInThePastReturnsAtOnce) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  EXPECT_TRUE(cv.WaitWithDeadline(&mu, absl::Now() - absl::Seconds(1)));
  EXPECT_TRUE(cv.WaitWithTimeout(&mu, absl::ZeroDuration()));
}

TEST(CondVarTest, WaitWithDeadlineWakesOnSignal) {
  Mutex mu;
  CondVar cv;
  bool ready = false;
  std::thread signaller([&] {
    MutexLock lock(&mu);
    ready = true;
    cv.Signal();
  });
  const absl::Time deadline = absl::Now() + kPatience;
  bool timed_out = false;
  {
    MutexLock lock(&mu);
    while (!ready && !timed_out) timed_out = cv.WaitWithDeadline(&mu, deadline);
    EXPECT_TRUE(ready);
  }
  signaller.join();
  EXPECT_FALSE(timed_out);
  EXPECT_LT(absl::Now(), deadline);
}

TEST(CondVarTest, InfiniteTimeoutWaitsForTheSignal) {
  Mutex mu;
  CondVar cv;
  bool ready = false;
  std::thread signaller([&] {
    absl::SleepFor(absl::Milliseconds(10));
    MutexLock lock(&mu);
    ready = true;
    cv.SignalAll();
  });
  {
    MutexLock lock(&mu);
    while (!ready) {
      EXPECT_FALSE(cv.WaitWithTimeout(&mu, absl::InfiniteDuration()));
    }
  }
  signaller.join();
}

TEST(NotificationTest, NotifyWakesEveryWaiter) {
  Notification done;
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      done.WaitForNotification();
      woken.fetch_add(1);
    });
  }
  EXPECT_FALSE(done.HasBeenNotified());
  done.Notify();
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(done.HasBeenNotified());
  EXPECT_EQ(woken.load(), 3);
}

TEST(NotificationTest, PublishesWhatWasWrittenBeforeNotify) {
  Notification done;
  int value = 0;
  std::thread writer([&] {
    value = 7;
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_EQ(value, 7);
  writer.join();
}

TEST(NotificationTest, WaitWithTimeoutReportsWhetherNotified) {
  Notification done;
  const absl::Time start = absl::Now();
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(20)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(20));
  std::thread notifier([&] { done.Notify(); });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(kPatience));
  notifier.join();
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::ZeroDuration()));
}

TEST(NotificationTest, PrenotifiedDoesNotBlock) {
  Notification done(true);
  EXPECT_TRUE(done.HasBeenNotified());
  done.WaitForNotification();
  EXPECT_TRUE(done.WaitForNotificationWithDeadline(absl::InfinitePast()));
}

}  // namespace
}  // namespace sift
