// What a compute needs from the page server besides pages (issue 9), through the real client,
// service and timeline:
//   - one writer per database: the client that took the writer lease last writes; the older
//     one's redo, truncations and aux files are refused with an error naming the new holder,
//     and nothing of them is stored;
//   - aux files: whole files versioned by the LSN they were synced at.
#include <gtest/gtest.h>

#include <optional>

#include "absl/strings/str_format.h"

#include "logship/log_sender.h"
#include "logship/testing/page_server_fixture.h"

namespace pageserver::logship {
namespace {

using pageserver::testing::MessageHas;
using namespace pageserver::logship::testing;  // NOLINT: the fixture's helpers

class ComputeProtocolTest : public PageServerFixture {
 protected:
  std::unique_ptr<client::PageServerClient> SecondClient() {
    auto c = client::PageServerClient::Create(client_->options());
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
  // A log of three mini-transactions from kFirst, ending at ends_[0..2].
  void WriteThreeMtrs() {
    LogImage image = NewLog();
    ends_[0] = image.Append(kFirst, Write(1, 200, 0xaa, 40));
    ends_[1] = image.Append(ends_[0], Write(2, 300, 0xbb, 40));
    ends_[2] = image.Append(ends_[1], Write(3, 400, 0xcc, 40));
    auto log = wal::LogFile::Open(Save(image));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }
  Lsn ends_[3];
  std::optional<wal::LogFile> log_;
};

TEST_F(ComputeProtocolTest, TheOlderWriterIsFencedAndStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(WriteThreeMtrs());
  const Lsn a = ends_[0], b = ends_[1], c = ends_[2];
  auto& log = log_;

  auto first = client_->AcquireWriter("compute one");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->generation, 1u);
  EXPECT_EQ(first->last_record_lsn, kFirst);
  LogSender old_writer(*client_, {});
  ASSERT_TRUE(old_writer.Send(*log, kFirst, a).ok());

  auto other = SecondClient();
  auto second = other->AcquireWriter("compute two");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->generation, 2u);
  EXPECT_EQ(second->last_record_lsn, a);

  auto refused = old_writer.Send(*log, a, b);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_TRUE(MessageHas(refused.status(), "writer generation 1 is fenced"));
  EXPECT_TRUE(MessageHas(refused.status(), "\"compute two\""));
  EXPECT_EQ(ServerLsn(), a) << "the fenced writer's redo was stored";

  LogSender new_writer(*other, {});
  auto sent = new_writer.Send(*log, a, c);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(ServerLsn(), c);
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->writer_generation, 2u);
  EXPECT_EQ(status->writer_holder, "compute two");

  // Nor may the fenced writer drop the new one's redo,
  auto cut = client_->TruncateWal(a);
  EXPECT_TRUE(absl::IsFailedPrecondition(cut.status())) << cut.status();
  EXPECT_TRUE(MessageHas(cut.status(), "writer generation 1 is fenced"));
  EXPECT_EQ(ServerLsn(), c);
  // or change the new one's aux files.
  const std::vector<uint8_t> bytes = {1, 2};
  absl::Status fenced_file = client_->PutAuxFile("db/t.frm", a, bytes);
  EXPECT_TRUE(absl::IsFailedPrecondition(fenced_file)) << fenced_file;
  EXPECT_TRUE(MessageHas(fenced_file, "writer generation 1 is fenced"));
  EXPECT_TRUE(absl::IsNotFound(other->GetAuxFile("db/t.frm", Lsn(0)).status()));
  EXPECT_TRUE(other->PutAuxFile("db/t.frm", c, bytes).ok());
}

TEST_F(ComputeProtocolTest, AHolderMustBeNamed) {
  auto nameless = client_->AcquireWriter("");
  EXPECT_TRUE(absl::IsInvalidArgument(nameless.status())) << nameless.status();
}

TEST_F(ComputeProtocolTest, AuxFilesAreVersionedByLsn) {
  LogImage image = NewLog();
  const Lsn a = image.Append(kFirst, Write(1, 200, 0xaa, 40));
  const Lsn b = image.Append(a, Write(2, 300, 0xbb, 40));
  auto log = wal::LogFile::Open(Save(image));
  ASSERT_TRUE(log.ok()) << log.status();
  const std::vector<uint8_t> v1 = {1, 2, 3}, v2(100000, 9);
  ASSERT_TRUE(client_->PutAuxFile("db/t.frm", kFirst, v1).ok());
  // Past the redo the server holds: the redo comes first.
  absl::Status early = client_->PutAuxFile("db/t.frm", b, v2);
  EXPECT_TRUE(absl::IsFailedPrecondition(early)) << early;
  EXPECT_TRUE(MessageHas(early, "send the redo first"));
  LogSender sender(*client_, {});
  ASSERT_TRUE(sender.Send(*log, kFirst, b).ok());
  ASSERT_TRUE(client_->PutAuxFile("db/t.frm", b, v2).ok());
  ASSERT_TRUE(client_->PutAuxFile("db/db.opt", a, {}).ok());

  auto then = client_->GetAuxFile("db/t.frm", a);
  ASSERT_TRUE(then.ok()) << then.status();
  EXPECT_EQ(then->content, v1);
  EXPECT_EQ(then->lsn, kFirst);
  auto now = client_->GetAuxFile("db/t.frm", Lsn(0));
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(now->content, v2);
  auto list = client_->ListAuxFiles(Lsn(0));
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].path, "db/db.opt");
  EXPECT_EQ((*list)[1].size, v2.size());

  ASSERT_TRUE(client_->DeleteAuxFile("db/t.frm", b).ok());
  EXPECT_TRUE(absl::IsNotFound(client_->GetAuxFile("db/t.frm", b).status()));
  EXPECT_TRUE(client_->GetAuxFile("db/t.frm", a).ok()) << "history before the delete is kept";
  EXPECT_TRUE(absl::IsInvalidArgument(client_->PutAuxFile("../escape", b, v1)));
}

// A WalSession carries one writer's redo on one stream: each Flush is acknowledged once stored,
// the stream stays open across flushes, and a refusal (fenced, corrupt) ends the session with
// an error saying why, with nothing of the refused flush stored.
TEST_F(ComputeProtocolTest, AWalSessionAcknowledgesEachFlushOnOneStream) {
  ASSERT_NO_FATAL_FAILURE(WriteThreeMtrs());
  const Lsn a = ends_[0], b = ends_[1], c = ends_[2];
  auto& log = log_;
  auto bytes = [&](Lsn from, Lsn to) {
    std::vector<uint8_t> out(to - from);
    EXPECT_TRUE(log->Read(from, out.size(), out.data()).ok());
    return out;
  };
  // A flush of [from, to) acknowledged as stored up to `to`, and the server there.
  auto expect_stored = [&](client::WalSession& session, Lsn from, Lsn to) {
    auto ack = session.Flush(from, bytes(from, to));
    ASSERT_TRUE(ack.ok()) << ack.status();
    EXPECT_EQ(ack->last_record_lsn, to);
    EXPECT_EQ(ServerLsn(), to);
  };
  ASSERT_TRUE(client_->AcquireWriter("compute one").ok());
  auto session = client_->OpenWalSession();
  ASSERT_TRUE(session.ok()) << session.status();

  ASSERT_NO_FATAL_FAILURE(expect_stored(**session, kFirst, a));
  // Bytes already stored may come again, unchanged (a resend after a broken connection).
  ASSERT_NO_FATAL_FAILURE(expect_stored(**session, kFirst, b));

  // Corrupt redo: refused, naming where, and the session is over.
  std::vector<uint8_t> corrupt = bytes(b, c);
  corrupt.back() ^= 0xff;  // the mini-transaction's CRC
  auto refused = (*session)->Flush(b, corrupt);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_TRUE(MessageHas(refused.status(), absl::StrFormat("LSN %d", b.value())))
      << refused.status();
  EXPECT_EQ(ServerLsn(), b);
  EXPECT_FALSE((*session)->Flush(b, bytes(b, c)).ok()) << "a refused session went on";

  // A new session goes on where the server stands; a newer writer fences it.
  auto next = client_->OpenWalSession();
  ASSERT_TRUE(next.ok()) << next.status();
  auto other = SecondClient();
  ASSERT_TRUE(other->AcquireWriter("compute two").ok());
  auto fenced = (*next)->Flush(b, bytes(b, c));
  EXPECT_TRUE(absl::IsFailedPrecondition(fenced.status())) << fenced.status();
  EXPECT_TRUE(MessageHas(fenced.status(), "writer generation 1 is fenced")) << fenced.status();
  EXPECT_EQ(ServerLsn(), b) << "the fenced writer's redo was stored";
  auto theirs = other->OpenWalSession();
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  expect_stored(**theirs, b, c);
}

// A writer need not wait for each answer: flushes sent back to back are each answered, in
// order, once durable, and a refused one is answered with the error after those before it are
// stored.
TEST_F(ComputeProtocolTest, AWalSessionTakesFlushesBeforeTheirAnswers) {
  ASSERT_NO_FATAL_FAILURE(WriteThreeMtrs());
  const Lsn a = ends_[0], b = ends_[1], c = ends_[2];
  auto bytes = [&](Lsn from, Lsn to) {
    std::vector<uint8_t> out(to - from);
    EXPECT_TRUE(log_->Read(from, out.size(), out.data()).ok());
    return out;
  };
  ASSERT_TRUE(client_->AcquireWriter("compute one").ok());
  auto session = client_->OpenWalSession();
  ASSERT_TRUE(session.ok()) << session.status();
  auto before = client_->GetStatus();
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE((*session)->Send(kFirst, bytes(kFirst, a)).ok());
  ASSERT_TRUE((*session)->Send(a, bytes(a, b)).ok());
  EXPECT_EQ((*session)->unanswered(), 2u);
  auto ack = (*session)->AwaitAll();
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->last_record_lsn, b);
  EXPECT_EQ((*session)->unanswered(), 0u);
  EXPECT_EQ(ServerLsn(), b);
  // Two messages, one or two syncs (two when the second arrived after the first sync began).
  auto after = client_->GetStatus();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GE(after->wal_syncs - before->wal_syncs, 1u);
  EXPECT_LE(after->wal_syncs - before->wal_syncs, 2u);
  // Nothing unanswered: AwaitAll asks where the server stands.
  ack = (*session)->AwaitAll();
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->last_record_lsn, b);

  // A good flush, then a corrupt one, both sent before any answer.
  auto next = client_->OpenWalSession();
  ASSERT_TRUE(next.ok()) << next.status();
  std::vector<uint8_t> corrupt = bytes(b, c);
  corrupt.back() ^= 0xff;
  ASSERT_TRUE((*next)->Send(a, bytes(a, b)).ok());  // stored already: accepted unchanged
  ASSERT_TRUE((*next)->Send(b, corrupt).ok());
  auto refused = (*next)->AwaitAll();
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_TRUE(MessageHas(refused.status(), absl::StrFormat("LSN %d", b.value())))
      << refused.status();
  EXPECT_EQ(ServerLsn(), b);
}

}  // namespace
}  // namespace pageserver::logship
