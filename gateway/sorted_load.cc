#include "gateway/sorted_load.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

namespace cg::gateway {
namespace {

std::string ErrnoText(int error) { return std::generic_category().message(error); }

Status FileError(std::string_view what, int error) {
  std::string message = "sorting the load: " + std::string(what) + ": " + ErrnoText(error);
  return error == ENOSPC || error == EDQUOT ? ResourceExhaustedError(std::move(message))
                                            : UnavailableError(std::move(message));
}

}  // namespace

StatusOr<std::unique_ptr<RunFile>> RunFile::Create() {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/credit-gateway-load-XXXXXX";
  const int fd = mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return FileError("cannot create a temporary file in " + path, errno);
  unlink(path.c_str());  // gone with the process, whatever way it ends
  return std::unique_ptr<RunFile>(new RunFile(fd));
}

RunFile::~RunFile() { close(fd_); }

Status RunFile::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(size_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FileError("cannot write the temporary file", errno);
    }
    size_ += static_cast<uint64_t>(n);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

void RunFile::EndRun() {
  runs_.push_back({run_start_, size_ - run_start_});
  run_start_ = size_;
}

StatusOr<bool> RunReader::Next(std::string_view& record) {
  uint32_t length = 0;
  CG_RETURN_IF_ERROR(Fill(sizeof length));
  if (filled_ - begin_ == 0) return false;
  if (filled_ - begin_ < sizeof length)
    return DataLossError("a sorted run of the load is cut short");
  std::memcpy(&length, buffer_.data() + begin_, sizeof length);
  // What is left of the run, this length included: a damaged length must not make
  // the buffer grow to it.
  const uint64_t left = (end_ - next_) + (filled_ - begin_);
  if (sizeof length + static_cast<uint64_t>(length) > left) {
    return DataLossError("a sorted run of the load is cut short");
  }
  CG_RETURN_IF_ERROR(Fill(sizeof length + length));
  if (filled_ - begin_ < sizeof length + length) {
    return DataLossError("a sorted run of the load is cut short");
  }
  record = std::string_view(buffer_).substr(begin_ + sizeof length, length);
  begin_ += sizeof length + length;
  return true;
}

Status RunReader::Fill(size_t need) {
  if (filled_ - begin_ >= need || next_ == end_) return OkStatus();
  constexpr size_t kReadBytes = 256 * 1024;
  // Keep what is left at the front, then read behind it.
  std::memmove(buffer_.data(), buffer_.data() + begin_, filled_ - begin_);
  filled_ -= begin_;
  begin_ = 0;
  if (buffer_.size() < std::max(need, kReadBytes)) buffer_.resize(std::max(need, kReadBytes));
  while (filled_ < need && next_ < end_) {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(buffer_.size() - filled_, end_ - next_));
    const ssize_t n = pread(fd_, buffer_.data() + filled_, want, static_cast<off_t>(next_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FileError("cannot read the temporary file", errno);
    }
    if (n == 0) return DataLossError("a sorted run of the load is cut short");
    filled_ += static_cast<size_t>(n);
    next_ += static_cast<uint64_t>(n);
  }
  return OkStatus();
}

}  // namespace cg::gateway
