#include "specs/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace cg {
namespace {

Status ErrnoStatus(int err, const std::string& what) {
  std::string message = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return NotFoundError(std::move(message));
    case EACCES:
    case EPERM:
      return PermissionDeniedError(std::move(message));
    case ENOSPC:
    case EDQUOT:
      return ResourceExhaustedError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

StatusOr<std::string> ReadFileLimited(const std::string& path, size_t max_bytes) {
  // O_NONBLOCK so that opening a FIFO or device cannot hang; it is refused below.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return ErrnoStatus(errno, "cannot open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "cannot stat " + path);
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(path + " is not a regular file");
  ::fcntl(fd.get(), F_SETFL, 0);
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    return ResourceExhaustedError(path + " is " + std::to_string(st.st_size) +
                                  " bytes; the limit is " + std::to_string(max_bytes));
  }
  std::string contents;
  contents.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (true) {
    if (done == contents.size()) {
      // The file may have grown since fstat; read one byte more to find out.
      if (contents.size() >= max_bytes + 1) break;
      contents.resize(std::min(contents.size() + 4096, max_bytes + 1));
    }
    ssize_t n = ::read(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot read " + path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  if (done > max_bytes) {
    return ResourceExhaustedError(path + " is larger than the limit of " +
                                  std::to_string(max_bytes) + " bytes");
  }
  contents.resize(done);
  return contents;
}

Status WriteFileAtomically(const std::string& path, std::string_view contents, unsigned mode) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  Fd fd(::mkstemp(tmp.data()));
  if (fd.get() < 0) return ErrnoStatus(errno, "cannot create a temporary file in " + dir.string());
  auto fail = [&](int err, const std::string& what) {
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, what);
  };
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) return fail(errno, "cannot chmod " + tmp);
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "cannot write " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail(errno, "cannot fsync " + tmp);
  if (::close(fd.release()) != 0) return fail(errno, "cannot close " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(errno, "cannot replace " + path);
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return OkStatus();
}

}  // namespace cg
