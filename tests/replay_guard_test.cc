// The home node's replay protection for peer requests (gateway/replay_guard.h).
#include "gateway/replay_guard.h"

#include <gtest/gtest.h>

namespace cg::gateway {
namespace {

using namespace std::chrono_literals;

class ReplayGuardTest : public ::testing::Test {
 protected:
  Clock::time_point now_ = Clock::time_point(std::chrono::seconds(1'800'000'000));
  ReplayGuard guard_{300s, [this] { return now_; }};
};

TEST_F(ReplayGuardTest, AFreshRequestPassesOnceAndItsReplayIsRefused) {
  EXPECT_TRUE(guard_.Check("hk-node-1", "n1", now_).ok());
  const Status replay = guard_.Check("hk-node-1", "n1", now_ + 10s);
  EXPECT_EQ(replay.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(replay.message().find("replayed"), std::string::npos);
  // The same nonce from another peer is that peer's own.
  EXPECT_TRUE(guard_.Check("sz-node-2", "n1", now_).ok());
}

TEST_F(ReplayGuardTest, RequestsOutsideTheWindowOrWithoutNonceOrTimeAreRefused) {
  EXPECT_EQ(guard_.Check("p", "n", now_ - 301s).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(guard_.Check("p", "n", now_ + 301s).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(guard_.Check("p", std::string(129, 'x'), now_).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(guard_.Check("p", "n", now_ - 300s).ok());
  EXPECT_EQ(guard_.Check("p", "", now_).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(guard_.Check("p", "m", Clock::time_point{}).code(), StatusCode::kInvalidArgument);
}

TEST_F(ReplayGuardTest, ANonceIsForgottenOnlyWhenItsRequestCouldNoLongerPass) {
  ASSERT_TRUE(guard_.Check("p", "n", now_).ok());
  now_ += 599s;  // the request dated now_ - 599 s is outside the window anyway
  EXPECT_EQ(guard_.Check("p", "n", now_ - 299s).code(), StatusCode::kAlreadyExists);
  now_ += 2s;
  EXPECT_TRUE(guard_.Check("p", "n", now_).ok());
}

}  // namespace
}  // namespace cg::gateway
