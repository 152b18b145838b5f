#include "client/grpc_status.h"

#include <gtest/gtest.h>

#include "common/testing/status_testing.h"

namespace pageserver::client {
namespace {

TEST(FromGrpcStatus, OkIsOk) { EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok()); }

TEST(FromGrpcStatus, KeepsEveryCodeAndTheMessage) {
  for (int code = 1; code <= 16; ++code) {
    const grpc::Status in(static_cast<grpc::StatusCode>(code), "space 5 page 7 at LSN 99");
    const absl::Status out = FromGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(out.code()), code);
    EXPECT_EQ(std::string(out.message()), "space 5 page 7 at LSN 99");
  }
}

TEST(FromPageError, ZeroIsOk) { EXPECT_TRUE(FromPageError(0, "").ok()); }

TEST(FromPageError, KnownCodeKept) {
  const absl::Status s = FromPageError(11, "page 9 past the end");
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(std::string(s.message()), "page 9 past the end");
}

TEST(FromPageError, CodeOutsideGrpcRangeIsUnknownNamingIt) {
  for (int32_t code : {17, 99, -1}) {
    const absl::Status s = FromPageError(code, "odd");
    EXPECT_EQ(s.code(), absl::StatusCode::kUnknown);
    EXPECT_TRUE(testing::MessageHas(s, std::to_string(code))) << s;
    EXPECT_TRUE(testing::MessageHas(s, "odd")) << s;
  }
}

}  // namespace
}  // namespace pageserver::client
