// support/atomic_file: a written file appears whole; a failing writer, an exception, a
// temporary file that cannot be created, an unwritable directory or an interrupt's cleanup
// leave the old file untouched and no temporary file behind; devices are written in place.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "wafer/support/atomic_file.hpp"

namespace wafer {
namespace {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fresh directory holding `result.txt` with the text "old".
class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("wafer_atomic_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "result.txt").string();
    std::ofstream(path_) << "old";
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all);
    fs::remove_all(dir_);
  }
  std::string temp() const { return path_ + ".tmp." + std::to_string(::getpid()); }
  // Only the result file is left in the directory.
  void expect_no_temp() const {
    for (const auto& entry : fs::directory_iterator(dir_))
      EXPECT_EQ(entry.path().filename(), "result.txt") << "stray file " << entry.path();
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(AtomicFile, ReplacesTheFileWhole) {
  Status st = write_file_atomically(path_, "report", std::string_view("new contents\n"));
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(read_file(path_), "new contents\n");
  expect_no_temp();
}

TEST_F(AtomicFile, CreatesAMissingFile) {
  fs::remove(path_);
  ASSERT_TRUE(write_file_atomically(path_, "", std::string_view("x")).is_ok());
  EXPECT_EQ(read_file(path_), "x");
  expect_no_temp();
}

TEST_F(AtomicFile, FailingWriterKeepsTheOldFile) {
  Status st = write_file_atomically(path_, "trace", [](std::FILE* f) {
    std::fputs("partial", f);
    return Status::error("no space left on device");
  });
  EXPECT_EQ(st.message(), "cannot write trace '" + path_ + "': no space left on device");
  EXPECT_EQ(read_file(path_), "old");
  expect_no_temp();
}

TEST_F(AtomicFile, ThrowingWriterKeepsTheOldFile) {
  auto write = [](std::FILE* f) -> Status {
    std::fputs("partial", f);
    throw std::runtime_error("boom");
  };
  EXPECT_THROW(write_file_atomically(path_, "", write), std::runtime_error);
  EXPECT_EQ(read_file(path_), "old");
  expect_no_temp();
}

TEST_F(AtomicFile, UncreatableTemporaryFileIsAClearError) {
  fs::create_directory(temp());  // the temporary path is taken by a directory
  Status st = write_file_atomically(path_, "map", std::string_view("new"));
  EXPECT_EQ(st.message(), "cannot write map '" + path_ + "': is a directory");
  EXPECT_EQ(read_file(path_), "old");
  fs::remove(temp());
  expect_no_temp();
}

TEST_F(AtomicFile, UnwritableDirectoryIsAClearError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into read-only directories";
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
  Status st = write_file_atomically(path_, "", std::string_view("new"));
  EXPECT_EQ(st.message(), "cannot write '" + path_ + "': permission denied");
  EXPECT_EQ(read_file(path_), "old");
}

TEST_F(AtomicFile, MissingDirectoryNamesThePath) {
  const std::string path = (dir_ / "no" / "such" / "out.png").string();
  Status st = write_file_atomically(path, "", std::string_view("new"));
  EXPECT_EQ(st.message(), "cannot write '" + path + "': no such file or directory");
}

// What the SIGINT handler does: the temporary file goes, the old file stays, the write fails.
TEST_F(AtomicFile, PendingFilesAreRemovedForAnInterrupt) {
  bool temp_existed = false;
  Status st = write_file_atomically(path_, "", [&](std::FILE* f) {
    std::fputs("partial", f);
    temp_existed = fs::exists(temp());
    remove_pending_files();
    return Status::ok();
  });
  EXPECT_TRUE(temp_existed);
  EXPECT_FALSE(st.is_ok());
  EXPECT_EQ(read_file(path_), "old");
  expect_no_temp();
}

TEST_F(AtomicFile, WritesDevicesInPlace) {
  ASSERT_TRUE(write_file_atomically("/dev/null", "", std::string_view("discarded")).is_ok());
  struct stat st;
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

}  // namespace
}  // namespace wafer
