#include "audit/audit.h"

#include <gtest/gtest.h>
#include <atomic>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "support/temp_dir.h"

namespace coffer::audit {
namespace {

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = temp_.File("audit.log");
    key_ = crypto::RandomSecret(32);
  }

  Record MakeRecord(int i) {
    Record r;
    r.time = util::FromUnixMillis(1'700'000'000'000 + i);
    r.request_id = "req-" + std::to_string(i);
    r.principal_arn = "arn:aws:iam::000000000000:user/admin";
    r.source_ip = "127.0.0.1";
    r.api = "ssm";
    r.operation = "GetParameter";
    r.resource = "arn:aws:ssm:us-east-1:000000000000:parameter/app/x";
    r.decision = "allow";
    r.status = 200;
    return r;
  }

  void WriteRecords(int n) {
    auto sink = FileSink::Open(path_, key_);
    ASSERT_TRUE(sink.has_value()) << sink.error().message;
    for (int i = 0; i < n; ++i) ASSERT_TRUE((*sink)->Write(MakeRecord(i)).has_value());
  }

  std::vector<std::string> Lines() {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  void SetLines(const std::vector<std::string>& lines) {
    std::ofstream out(path_, std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
  }

  testing::ScopedTempDir temp_;
  const std::string& dir_ = temp_.path();
  std::string path_;
  SecretBytes key_;
};

// An untouched log verifies, across a reopen of the sink.
TEST_F(AuditTest, IntactLogVerifiesAcrossReopen) {
  WriteRecords(3);
  WriteRecords(2);
  auto report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, 5u);
}

// Deleting a line is detected at the record after the gap.
TEST_F(AuditTest, DeletedRecordIsNamed) {
  WriteRecords(5);
  auto lines = Lines();
  lines.erase(lines.begin() + 2);
  SetLines(lines);
  auto report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_line, 3u);
}

// Editing a field of a record is detected at that record.
TEST_F(AuditTest, EditedRecordIsNamed) {
  WriteRecords(4);
  auto lines = Lines();
  auto pos = lines[1].find("allow");
  lines[1].replace(pos, 5, "ALLOW");
  SetLines(lines);
  auto report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_line, 2u);
}

// A log verified under another key fails at the first record.
TEST_F(AuditTest, WrongKeyFailsAtFirstRecord) {
  WriteRecords(2);
  auto report = VerifyLog(path_, crypto::RandomSecret(32));
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_line, 1u);
}

// Field values are escaped, so a crafted value cannot forge JSON structure.
TEST_F(AuditTest, FieldValuesAreEscaped) {
  auto sink = FileSink::Open(path_, key_);
  ASSERT_TRUE(sink.has_value());
  Record r = MakeRecord(1);
  r.resource = "x\",\"mac\":\"00\"}\n{";
  ASSERT_TRUE((*sink)->Write(r).has_value());
  EXPECT_EQ(Lines().size(), 1u);
  auto report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok) << report->problem;
}

// The fields a caller controls are written bounded, with a marker naming the
// full size, and the chain still verifies: a request with a 1 MB action or
// resource adds a record of a few KiB, not 1 MB.
TEST_F(AuditTest, LongFieldsAreWrittenBoundedAndMarked) {
  auto sink = FileSink::Open(path_, key_);
  ASSERT_TRUE(sink.has_value());
  Record r = MakeRecord(1);
  r.operation = std::string(1 << 20, 'A');
  r.resource = std::string(1 << 20, 'r');
  r.principal_arn = std::string(1 << 20, 'p');
  r.decided_by = std::string(1 << 20, 'd');
  r.api = std::string(1 << 20, 'i');
  r.error_code = std::string(1 << 20, 'e');
  r.request_id = std::string(1 << 20, 'q');
  r.source_ip = std::string(1 << 20, 's');
  r.decision = std::string(1 << 20, 'x');
  ASSERT_TRUE((*sink)->Write(r).has_value());
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(lines[0].size(), 6 * kMaxAuditShortField + 3 * kMaxAuditLongField + 1024);
  auto doc = nlohmann::json::parse(lines[0]);
  std::string operation = doc["operation"];
  EXPECT_EQ(operation, std::string(kMaxAuditShortField, 'A') +
                           std::string(kAuditTruncatedMarker) + "1048576 bytes]");
  std::string resource = doc["resource"];
  EXPECT_EQ(resource, std::string(kMaxAuditLongField, 'r') + std::string(kAuditTruncatedMarker) +
                          "1048576 bytes]");
  auto report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok) << report->problem;
}

// The bound counts escaped bytes and never cuts inside an escape or a UTF-8
// character, so a truncated field is still valid JSON and valid UTF-8.
TEST_F(AuditTest, TruncationNeverSplitsAnEscapeOrACharacter) {
  Record r = MakeRecord(1);
  r.operation = std::string(kMaxAuditShortField - 3, 'a') + "\x01";  // \u0001 passes the bound
  r.resource = std::string(kMaxAuditLongField - 1, 'b') + "\xc3\xa9";  // é passes the bound
  std::string body = "{" + RecordJson(r) + "}";
  auto doc = nlohmann::json::parse(body);  // throws on a split escape or invalid UTF-8
  EXPECT_EQ(doc["operation"].get<std::string>(),
            std::string(kMaxAuditShortField - 3, 'a') + std::string(kAuditTruncatedMarker) +
                std::to_string(kMaxAuditShortField - 2) + " bytes]");
  EXPECT_EQ(doc["resource"].get<std::string>(),
            std::string(kMaxAuditLongField - 1, 'b') + std::string(kAuditTruncatedMarker) +
                std::to_string(kMaxAuditLongField + 1) + " bytes]");
  // Values within the bounds are written whole.
  Record exact = MakeRecord(2);
  exact.operation = std::string(kMaxAuditShortField, 'z');
  auto whole = nlohmann::json::parse("{" + RecordJson(exact) + "}");
  EXPECT_EQ(whole["operation"].get<std::string>(), exact.operation);
}

// A sink whose file cannot be written reports the failure (the caller fails closed).
TEST_F(AuditTest, WriteFailureIsReported) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "/dev/full not available";
  auto sink = FileSink::Open("/dev/full", key_);
  ASSERT_TRUE(sink.has_value());
  auto status = (*sink)->Write(MakeRecord(1));
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
}

// The key file is created 0600 and reloads to the same key.
TEST_F(AuditTest, KeyFileIsPrivateAndStable) {
  std::string key_path = dir_ + "/audit.key";
  auto k1 = LoadOrCreateKey(key_path);
  ASSERT_TRUE(k1.has_value());
  struct stat st;
  ASSERT_EQ(stat(key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto k2 = LoadOrCreateKey(key_path);
  ASSERT_TRUE(k2.has_value());
  EXPECT_TRUE(k1->Equals(*k2));
}

TEST_F(AuditTest, ValueIdsAreWrittenOnlyAsMacs) {
  const std::string id = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf#v1-token";
  {
    auto sink = FileSink::Open(path_, key_);
    ASSERT_TRUE(sink.has_value());
    Record r = MakeRecord(1);
    r.value_ids = {id, id + "x"};
    ASSERT_TRUE((*sink)->Write(r).has_value());
    std::vector<std::string> many(kMaxValueIdsPerRecord + 3, id);
    r.value_ids = many;
    ASSERT_TRUE((*sink)->Write(r).has_value());
    ASSERT_TRUE((*sink)->Write(MakeRecord(2)).has_value());
    std::vector<std::string> lines = Lines();
    ASSERT_EQ(lines.size(), 3u);
    std::string mac = (*sink)->HashIdentifier(id);
    EXPECT_EQ(mac.size(), 32u);
    EXPECT_NE(lines[0].find("\"values\":[\"" + mac + "\",\""), std::string::npos);
    EXPECT_EQ(lines[0].find("v1-token"), std::string::npos);
    EXPECT_NE(lines[1].find("\"values_more\":3"), std::string::npos);
    EXPECT_EQ(lines[2].find("\"values\""), std::string::npos);
  }
  // The ids are covered by the chain like every other field.
  auto report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok) << report->problem;
  std::vector<std::string> lines = Lines();
  size_t at = lines[0].find("\"values\":[\"") + 11;
  lines[0][at] = lines[0][at] == '0' ? '1' : '0';
  SetLines(lines);
  report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_line, 1u);
}

// Removing the newest records leaves a valid shorter chain; the head file
// names the record that went missing, and the sink refuses to continue such a log.
TEST_F(AuditTest, RemovedNewestRecordsAreNamedThroughTheHead) {
  WriteRecords(5);
  auto report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_TRUE(report->note.empty()) << report->note;

  std::vector<std::string> lines = Lines();
  lines.pop_back();
  lines.pop_back();
  SetLines(lines);
  report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_line, 4u);
  EXPECT_NE(report->problem.find("names record 5"), std::string::npos) << report->problem;

  auto reopened = FileSink::Open(path_, key_);
  ASSERT_FALSE(reopened.has_value());
  EXPECT_EQ(reopened.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(reopened.error().message.find("records were removed"), std::string::npos);
}

// The head file carries its own MAC: editing it (to hide a removal) is named.
TEST_F(AuditTest, AlteredHeadIsReported) {
  WriteRecords(3);
  std::string head_path = path_ + ".head";
  std::string head;
  {
    std::ifstream in(head_path);
    std::getline(in, head);
  }
  ASSERT_EQ(head.size(), 150u);
  head[19] = '2';  // claim that record 2 is the last
  {
    std::ofstream out(head_path, std::ios::trunc);
    out << head << "\n";
  }
  auto report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->ok);
  EXPECT_NE(report->problem.find("fails its MAC"), std::string::npos) << report->problem;
  EXPECT_FALSE(FileSink::Open(path_, key_).has_value());
}

// Without a head file (a copy of the log alone) the chain is still checked,
// with a note; a sink continuing a log whose head lags (a crash between the
// two writes) carries on and brings the head up to date.
TEST_F(AuditTest, MissingOrLaggingHeadIsTolerated) {
  WriteRecords(3);
  std::filesystem::remove(path_ + ".head");
  auto report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_FALSE(report->note.empty());
  {
    auto sink = FileSink::Open(path_, key_);
    ASSERT_TRUE(sink.has_value()) << sink.error().message;
    ASSERT_TRUE((*sink)->Write(MakeRecord(4)).has_value());
  }
  report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, 4u);
  EXPECT_TRUE(report->note.empty());
}

// Verifying a log that a server is appending to never reports a false
// removal: the head is read before the log, and written after each record.
TEST_F(AuditTest, VerifyWhileWritingSeesNoFalseRemoval) {
  auto sink = FileSink::Open(path_, key_);
  ASSERT_TRUE(sink.has_value());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE((*sink)->Write(MakeRecord(i)).has_value());
    done = true;
  });
  int verified = 0;
  while (!done || verified == 0) {
    auto report = VerifyLog(path_, key_);
    ASSERT_TRUE(report.has_value());
    // A line being appended may be read half-written; only a removal would be wrong.
    if (!report->ok) {
      EXPECT_EQ(report->problem.find("removed"), std::string::npos) << report->problem;
      EXPECT_EQ(report->problem.find("head"), std::string::npos) << report->problem;
    }
    ++verified;
  }
  writer.join();
  auto final_report = VerifyLog(path_, key_);
  ASSERT_TRUE(final_report.has_value());
  EXPECT_TRUE(final_report->ok) << final_report->problem;
  EXPECT_EQ(final_report->records, 3000u);
}

// Many writers at once: their records are appended in batches (group append),
// and the chain, the sequence numbers and the head come out as if written one
// by one.
TEST_F(AuditTest, ConcurrentWritersKeepOneChain) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 200;
  {
    auto sink = FileSink::Open(path_, key_);
    ASSERT_TRUE(sink.has_value()) << sink.error().message;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          if (!(*sink)->Write(MakeRecord(t * kPerThread + i))) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
  }
  auto report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_TRUE(report->note.empty()) << report->note;
}

// Reopening a log longer than the block read backwards from its end continues
// the chain from its true last record.
TEST_F(AuditTest, ReopeningALongLogContinuesItsChain) {
  WriteRecords(1500);  // ~ 400 KiB, several blocks
  WriteRecords(2);
  auto report = VerifyLog(path_, key_);
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, 1502u);
}

}  // namespace
}  // namespace coffer::audit
