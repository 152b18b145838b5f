#include "client/page_check.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "client/http_page_client.h"
#include "common/testing/status_testing.h"

namespace pageserver::client {
namespace {

using pageserver::testing::MessageHas;

constexpr uint32_t kPageSize = 16384;
const PageRequest kRequest{{SpaceId(5), PageNo(7)}, Lsn(1000)};

Page MakePage(PageId id, Lsn lsn, size_t size) {
  Page page;
  page.id = id;
  page.lsn = lsn;
  page.data.assign(size, 0xAB);
  return page;
}

TEST(CheckPage, AcceptsTheRightPage) {
  auto page = CheckPage(kRequest, MakePage(kRequest.id, Lsn(1000), kPageSize), kPageSize);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->data.size(), kPageSize);
}

TEST(CheckPage, OtherPageIsDataLoss) {
  auto page =
      CheckPage(kRequest, MakePage({SpaceId(5), PageNo(8)}, Lsn(1000), kPageSize), kPageSize);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(MessageHas(page.status(), "[space 5 page 7]")) << page.status();
  EXPECT_TRUE(MessageHas(page.status(), "[space 5 page 8]")) << page.status();
}

TEST(CheckPage, MissingIdsAreDataLoss) {
  auto page = CheckPage(kRequest, MakePage({}, Lsn(1000), kPageSize), kPageSize);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
}

TEST(CheckPage, OtherLsnIsDataLoss) {
  auto page = CheckPage(kRequest, MakePage(kRequest.id, Lsn(999), kPageSize), kPageSize);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(MessageHas(page.status(), "999")) << page.status();
}

TEST(CheckPage, MissingLsnIsTheOneAsked) {
  auto page = CheckPage(kRequest, MakePage(kRequest.id, Lsn(0), kPageSize), kPageSize);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->lsn, Lsn(1000));
}

TEST(CheckPage, LatestTakesTheServersLsn) {
  auto page =
      CheckPage({kRequest.id, Lsn(0)}, MakePage(kRequest.id, Lsn(4242), kPageSize), kPageSize);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->lsn, Lsn(4242));
}

TEST(CheckPage, WrongSizeIsDataLoss) {
  for (size_t size : {size_t{0}, size_t{100}, size_t{kPageSize - 1}, size_t{kPageSize + 1}}) {
    auto page = CheckPage(kRequest, MakePage(kRequest.id, Lsn(1000), size), kPageSize);
    EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss) << size;
    EXPECT_TRUE(MessageHas(page.status(), std::to_string(size) + " bytes")) << page.status();
  }
}

TEST(CheckPage, FreedPageMustBeAWholePageToo) {
  Page freed = MakePage(kRequest.id, Lsn(1000), 0);
  freed.freed = true;
  EXPECT_TRUE(absl::IsDataLoss(CheckPage(kRequest, freed, kPageSize).status()));
  freed = MakePage(kRequest.id, Lsn(1000), kPageSize);
  freed.freed = true;
  EXPECT_TRUE(CheckPage(kRequest, freed, kPageSize).ok());
}

std::string AnswerJson(const std::string& data, const std::string& extra = "") {
  return R"({"space_id": 5, "page_no": 7, "lsn": 1000, "freed": true, "records_applied": 4,)" +
         extra + R"( "page_data": ")" + absl::Base64Escape(data) + R"("})";
}

TEST(HttpGetPage, RequestBody) {
  EXPECT_EQ(GetPageRequestJson(kRequest), R"({"lsn":1000,"page_no":7,"space_id":5})");
}

TEST(HttpGetPage, ParsesAnAnswer) {
  const std::string data(kPageSize, 'x');
  auto page = ParseGetPageAnswer(200, AnswerJson(data), kRequest, kPageSize);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(std::string(page->data.begin(), page->data.end()), data);
  EXPECT_TRUE(page->freed);
  EXPECT_EQ(page->records_applied, 4u);
  EXPECT_EQ(page->lsn, Lsn(1000));
}

TEST(HttpGetPage, LsnAsString) {
  const std::string body = R"({"space_id": 5, "page_no": 7, "lsn": "1000", "page_data": ")" +
                           absl::Base64Escape(std::string(kPageSize, 'y')) + R"("})";
  auto page = ParseGetPageAnswer(200, body, kRequest, kPageSize);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->lsn, Lsn(1000));
}

TEST(HttpGetPage, NotJsonIsDataLoss) {
  EXPECT_EQ(ParseGetPageAnswer(200, "<html>", kRequest, kPageSize).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(HttpGetPage, MissingPageDataIsDataLoss) {
  auto page = ParseGetPageAnswer(200, R"({"space_id": 5, "page_no": 7})", kRequest, kPageSize);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(MessageHas(page.status(), "page_data")) << page.status();
}

TEST(HttpGetPage, BadBase64IsDataLoss) {
  auto page = ParseGetPageAnswer(200, R"({"space_id": 5, "page_no": 7, "page_data": "@@@"})",
                                 kRequest, kPageSize);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
}

TEST(HttpGetPage, ShortPageIsDataLoss) {
  auto page = ParseGetPageAnswer(200, AnswerJson("short"), kRequest, kPageSize);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
}

TEST(HttpGetPage, MissingIdsAreDataLoss) {
  const std::string body =
      R"({"page_data": ")" + absl::Base64Escape(std::string(kPageSize, 'z')) + R"("})";
  EXPECT_EQ(ParseGetPageAnswer(200, body, kRequest, kPageSize).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(HttpGetPage, ErrorCarriesTheServersCodeAndMessage) {
  auto page = ParseGetPageAnswer(400, R"({"error": "LSN 5 below the base", "code": 11})", kRequest,
                                 kPageSize);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(MessageHas(page.status(), "LSN 5 below the base")) << page.status();
}

TEST(HttpGetPage, ErrorCodeByName) {
  auto page = ParseGetPageAnswer(400, R"({"error": "page 9 past the end", "code": "OUT_OF_RANGE"})",
                                 kRequest, kPageSize);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kOutOfRange);
  page = ParseGetPageAnswer(500, R"({"error": "bad checksum", "code": "DATA_LOSS"})", kRequest,
                            kPageSize);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
  page = ParseGetPageAnswer(409, R"({"error": "x", "code": "NO_SUCH_CODE"})", kRequest, kPageSize);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(HttpGetPage, ErrorWithoutCodeMapsTheHttpStatus) {
  EXPECT_EQ(ParseGetPageAnswer(404, "no such tablespace", kRequest, kPageSize).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseGetPageAnswer(500, "", kRequest, kPageSize).status().code(),
            absl::StatusCode::kUnknown);
}

}  // namespace
}  // namespace pageserver::client
