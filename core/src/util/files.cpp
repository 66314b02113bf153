#include <graft/core/files.h>
#include <graft/error.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace graft::core {

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DataError(cat(path, ": no such file"));
  if (fs::is_directory(path, ec)) throw DataError(cat(path, ": is a directory, expected a file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(cat(path, ": cannot be opened: ", std::strerror(errno)));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(cat(path, ": read error"));
  return s;
}

void write_file_atomic(const std::string& path, std::string_view content) {
  fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::string tmp = cat(path, ".tmp-", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(cat(path, ": cannot be written: ", std::strerror(errno)));
  const char* data = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(cat(path, ": write failed: ", std::strerror(err)));
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw Error(cat(path, ": rename failed: ", std::strerror(err)));
  }
}

int64_t find_invalid_utf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return static_cast<int64_t>(i);
    }
    if (i + len > n) return static_cast<int64_t>(i);
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return static_cast<int64_t>(i);
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return static_cast<int64_t>(i);
    i += len;
  }
  return -1;
}

std::string resolve_path(const std::string& base_dir, const std::string& path) {
  if (path.empty() || base_dir.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

std::string make_temp_dir_for(const std::string& final_dir) {
  static std::atomic<int> counter{0};
  fs::path f = fs::path(final_dir).lexically_normal();
  if (f.filename().empty()) f = f.parent_path();
  fs::path parent = f.has_parent_path() ? f.parent_path() : fs::path(".");
  fs::create_directories(parent);
  fs::path tmp = parent / cat(".", f.filename().string(), ".tmp-", ::getpid(), "-", counter++);
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  return tmp.string();
}

void commit_dir(const std::string& temp_dir, const std::string& final_dir) {
  fs::path f = fs::path(final_dir).lexically_normal();
  if (f.filename().empty()) f = f.parent_path();
  std::error_code ec;
  fs::path old;
  if (fs::exists(f, ec)) {
    old = f.parent_path() / cat(".", f.filename().string(), ".old-", ::getpid());
    fs::remove_all(old, ec);
    fs::rename(f, old);
  }
  fs::rename(temp_dir, f);
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace graft::core
