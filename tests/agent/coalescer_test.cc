#include "agent/coalescer.h"

#include <gtest/gtest.h>

#include <chrono>

namespace coffer::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class CoalescerTest : public ::testing::Test {
 protected:
  util::SteadyTime At(int64_t ms) { return util::SteadyTime{} + milliseconds(ms); }
  Coalescer c_{WaitWindow{seconds(2), seconds(10)}, milliseconds(0)};
};

// A burst is due `min` after its last change while changes keep coming closer
// together than `min`.
TEST_F(CoalescerTest, BurstIsDueMinAfterItsLastChange) {
  c_.Note(At(0));
  c_.Note(At(500));
  c_.Note(At(1500));
  ASSERT_TRUE(c_.pending());
  EXPECT_EQ(c_.due(), At(3500));
}

// A burst that never pauses is still rendered `max` after its first change.
TEST_F(CoalescerTest, EndlessBurstIsDueMaxAfterItsFirstChange) {
  for (int64_t t = 0; t <= 20000; t += 1000) c_.Note(At(t));
  EXPECT_EQ(c_.due(), At(10000));
}

// Rendered() closes the burst and reports how many changes it gathered.
TEST_F(CoalescerTest, RenderedClosesTheBurstAndCountsItsChanges) {
  for (int i = 0; i < 1000; ++i) c_.Note(At(i));
  EXPECT_EQ(c_.Rendered(), 1000);
  EXPECT_FALSE(c_.pending());
  c_.Note(At(5000));
  EXPECT_EQ(c_.due(), At(7000));
}

// Force (start-up, resync) asks for a rendering with no wait.
TEST_F(CoalescerTest, ForceIsDueAtOnce) {
  c_.Note(At(0));
  c_.Force(At(100));
  EXPECT_EQ(c_.due(), At(100));
  EXPECT_EQ(c_.Rendered(), 1);
}

// The rate limit holds a burst until the interval since the last rollout passed.
TEST_F(CoalescerTest, RateLimitDelaysTheNextRollout) {
  Coalescer c(WaitWindow{milliseconds(0), seconds(10)}, seconds(30));
  c.RolledOut(At(0));
  c.Note(At(1000));
  EXPECT_EQ(c.due(), At(30000));
}

// With min 0 a change is due the moment it arrives (the propagation bench).
TEST_F(CoalescerTest, ZeroMinIsDueAtOnce) {
  Coalescer c(WaitWindow{milliseconds(0), milliseconds(0)}, milliseconds(0));
  c.Note(At(42));
  EXPECT_EQ(c.due(), At(42));
}

}  // namespace
}  // namespace coffer::agent
