// Kills a process that is committing through SqliteBackend and checks that
// every write it acknowledged is in the database afterwards.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/sqlite/sqlite_backend.h"
#include "support/temp_dir.h"

namespace coffer::storage::sqlite {
namespace {

struct Ack {
  int64_t revision;
  int32_t thread;
  int32_t index;
};

std::string AckKey(int32_t thread, int32_t index) {
  return "crash/" + std::to_string(thread) + "/" + std::to_string(index);
}

// Child process body: commits from several threads forever, reporting each
// acknowledged commit on `fd`. Never returns.
[[noreturn]] void CommitUntilKilled(const std::string& path, int fd) {
  auto opened = SqliteBackend::Open(path);
  if (!opened) _exit(2);
  SqliteBackend& backend = **opened;
  std::vector<std::thread> threads;
  for (int32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&backend, fd, t] {
      for (int32_t i = 0;; ++i) {
        Txn txn;
        txn.writes.push_back(Write::Put(AckKey(t, i), std::to_string(i)));
        auto rev = backend.Commit(txn);
        if (!rev) _exit(3);
        Ack ack{*rev, t, i};
        // Records are smaller than PIPE_BUF, so each write is atomic.
        if (write(fd, &ack, sizeof(ack)) != static_cast<ssize_t>(sizeof(ack))) _exit(4);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  _exit(5);
}

bool ReadAck(int fd, Ack& ack) {
  auto* p = reinterpret_cast<char*>(&ack);
  size_t got = 0;
  while (got < sizeof(ack)) {
    ssize_t n = read(fd, p + got, sizeof(ack) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

// Every commit acknowledged before SIGKILL is present after reopening.
TEST(SqliteCrashTest, AcknowledgedCommitsSurviveSigkill) {
  testing::ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.File("db.sqlite");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    CommitUntilKilled(path, fds[1]);
  }
  close(fds[1]);

  constexpr size_t kAcksBeforeKill = 300;
  std::vector<Ack> acks;
  Ack ack{};
  while (acks.size() < kAcksBeforeKill && ReadAck(fds[0], ack)) acks.push_back(ack);
  kill(child, SIGKILL);
  // Acks already in the pipe were also acknowledged before the kill.
  while (ReadAck(fds[0], ack)) acks.push_back(ack);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with status " << status;
  ASSERT_GE(acks.size(), kAcksBeforeKill);

  auto opened = SqliteBackend::Open(path);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  SqliteBackend& backend = **opened;
  Revision max_acked = 0;
  size_t missing = 0;
  for (const Ack& a : acks) {
    max_acked = std::max(max_acked, a.revision);
    auto entry = backend.Get(AckKey(a.thread, a.index));
    if (!entry || entry->mod_revision != a.revision) ++missing;
  }
  EXPECT_EQ(missing, 0u);
  auto current = backend.CurrentRevision();
  ASSERT_TRUE(current.has_value());
  EXPECT_GE(*current, max_acked);
  // Revisions continue after the recovered state.
  Txn txn;
  txn.writes.push_back(Write::Put("after", "x"));
  auto rev = backend.Commit(txn);
  ASSERT_TRUE(rev.has_value());
  EXPECT_EQ(*rev, *current + 1);
}

}  // namespace
}  // namespace coffer::storage::sqlite
