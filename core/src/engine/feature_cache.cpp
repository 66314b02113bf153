// Feature cache: binary entries of featurized baskets, memory-mapped on load (docs/formats.md).
#include <graft/core/data_silo.h>
#include <graft/core/feature_cache.h>
#include <graft/core/files.h>
#include <graft/core/model_dir.h>
#include <graft/core/options_io.h>
#include <graft/core/recipe.h>
#include <graft/error.h>
#include <graft/log.h>
#include <graft/version.h>

#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace fs = std::filesystem;

namespace graft::core {

// ---------------------------------------------------------------------------------------------
// Hashing

namespace {

std::string to_hex(const unsigned char* d, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[d[i] >> 4];
    out[2 * i + 1] = digits[d[i] & 15];
  }
  return out;
}

struct Sha256 {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Sha256() {
    GRAFT_CHECK(ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1, Error, "SHA-256: cannot initialise");
  }
  ~Sha256() { EVP_MD_CTX_free(ctx); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* p, size_t n) { EVP_DigestUpdate(ctx, p, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    return to_hex(md, len);
  }
};

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL, kP2 = 0xC2B2AE3D27D4EB4FULL, kP3 = 0x165667B19E3779F9ULL;
inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/// Streaming 64-bit checksum over 8-byte little-endian words (four independent lanes, so it
/// runs at memory speed); independent of how the input is chunked.
class Checksum {
 public:
  void update(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    total_ += n;
    while (n > 0 && fill_ != 0) {
      buf_[fill_++] = *p++;
      --n;
      if (fill_ == 32) {
        block(buf_);
        fill_ = 0;
      }
    }
    while (n >= 32) {
      block(p);
      p += 32;
      n -= 32;
    }
    std::memcpy(buf_, p, n);
    fill_ = n;
  }
  uint64_t digest() const {
    uint64_t h = rotl(lane_[0], 1) + rotl(lane_[1], 7) + rotl(lane_[2], 12) + rotl(lane_[3], 18);
    h ^= total_ * kP1;
    for (size_t i = 0; i < fill_; ++i) h = rotl(h ^ (buf_[i] * kP3), 11) * kP1;
    h ^= h >> 33;
    h *= kP2;
    h ^= h >> 29;
    h *= kP3;
    h ^= h >> 32;
    return h;
  }

 private:
  void block(const unsigned char* p) {
    for (int i = 0; i < 4; ++i) {
      uint64_t w;
      std::memcpy(&w, p + 8 * i, 8);
      lane_[i] = rotl(lane_[i] + w * kP2, 31) * kP1;
    }
  }
  uint64_t lane_[4] = {kP1 + kP2, kP2, 0, 0 - kP1};
  unsigned char buf_[32] = {};
  size_t fill_ = 0;
  uint64_t total_ = 0;
};

}  // namespace

std::string digest_sha256(std::string_view bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex();
}

std::string digest_sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  GRAFT_CHECK(in.good(), DataError, path, fs::exists(path) ? ": cannot be read" : ": no such file");
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  GRAFT_CHECK(in.eof(), DataError, path, ": read error");
  return h.hex();
}

uint64_t checksum64(const void* data, size_t size) {
  Checksum c;
  c.update(data, size);
  return c.digest();
}

CacheKey& CacheKey::add(std::string_view name, std::string_view value) {
  // length-prefixed so that no two listings of different parts can collide
  text_ += cat(name.size(), ":", name, "=", value.size(), ":", value, "\n");
  return *this;
}

CacheKey& CacheKey::add_file(std::string_view name, const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  GRAFT_CHECK(!ec, DataError, path, ": no such file");
  return add(name, cat("sha256:", digest_sha256_file(path), " bytes:", size));
}

std::string CacheKey::hex() const { return digest_sha256(text_); }

// ---------------------------------------------------------------------------------------------
// Binary layout (little-endian), see docs/formats.md:
//   header (64 bytes): magic "GRAFTFC\0", u32 format, u32 header size (64), 32-byte key
//   (SHA-256), u64 payload size, u64 payload checksum — then the payload.

namespace {

constexpr char kMagic[8] = {'G', 'R', 'A', 'F', 'T', 'F', 'C', '\0'};
constexpr size_t kHeaderSize = 64;

void key_bytes(const std::string& key_hex, unsigned char out[32]) {
  GRAFT_CHECK(key_hex.size() == 64, Error, "feature cache: a key must be 64 hex digits, got '", key_hex, "'");
  for (size_t i = 0; i < 32; ++i) {
    auto nib = [&](char c) -> unsigned {
      if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
      if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
      throw Error(cat("feature cache: a key must be lowercase hex, got '", key_hex, "'"));
    };
    out[i] = static_cast<unsigned char>(nib(key_hex[2 * i]) << 4 | nib(key_hex[2 * i + 1]));
  }
}

/// Buffered payload writer: flushes to the stream and feeds the checksum.
class Writer {
 public:
  explicit Writer(std::ofstream& out) : out_(out) { buf_.reserve(kFlush + 4096); }
  void bytes(const void* p, size_t n) {
    const auto* c = static_cast<const char*>(p);
    buf_.append(c, n);
    if (buf_.size() >= kFlush) flush();
  }
  template <class T>
  void pod(T v) {
    bytes(&v, sizeof v);
  }
  void u8(uint8_t v) { pod(v); }
  void u32(uint32_t v) { pod(v); }
  void i64(int64_t v) { pod(v); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  /// Integers packed to the narrowest width (1, 2, 4 or 8 bytes) that holds every value.
  void ints(const std::vector<int64_t>& v) {
    u32(static_cast<uint32_t>(v.size()));
    int64_t lo = 0, hi = 0;
    for (auto x : v) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    uint8_t w = (lo >= INT8_MIN && hi <= INT8_MAX) ? 1 : (lo >= INT16_MIN && hi <= INT16_MAX) ? 2
                : (lo >= INT32_MIN && hi <= INT32_MAX) ? 4 : 8;
    u8(w);
    for (auto x : v) {
      if (w == 1) pod(static_cast<int8_t>(x));
      else if (w == 2) pod(static_cast<int16_t>(x));
      else if (w == 4) pod(static_cast<int32_t>(x));
      else pod(x);
    }
  }
  void align(size_t a) {
    while ((size_ + buf_.size()) % a != 0) buf_.push_back('\0');
  }
  void value(const Value& v) {
    u8(static_cast<uint8_t>(v.type()));
    switch (v.type()) {
      case Value::Type::null: break;
      case Value::Type::boolean: u8(v.as_bool() ? 1 : 0); break;
      case Value::Type::integer: i64(v.as_int()); break;
      case Value::Type::floating: pod(v.as_double()); break;
      case Value::Type::string: str(v.as_string()); break;
      case Value::Type::array:
        u32(static_cast<uint32_t>(v.size()));
        for (const auto& e : v.as_array()) value(e);
        break;
      case Value::Type::object:
        u32(static_cast<uint32_t>(v.size()));
        for (const auto& [k, e] : v.as_object()) {
          str(k);
          value(e);
        }
        break;
    }
  }
  void flush() {
    if (buf_.empty()) return;
    sum_.update(buf_.data(), buf_.size());
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    size_ += buf_.size();
    buf_.clear();
  }
  uint64_t size() const { return size_ + buf_.size(); }
  uint64_t checksum() const { return sum_.digest(); }

 private:
  static constexpr size_t kFlush = 1 << 20;
  std::ofstream& out_;
  std::string buf_;
  uint64_t size_ = 0;  // flushed payload bytes
  Checksum sum_;
};

bool known_dtype(int8_t code) {
  switch (static_cast<c10::ScalarType>(code)) {
    case c10::ScalarType::Byte: case c10::ScalarType::Char: case c10::ScalarType::Short:
    case c10::ScalarType::Int: case c10::ScalarType::Long: case c10::ScalarType::Half:
    case c10::ScalarType::Float: case c10::ScalarType::Double: case c10::ScalarType::Bool:
    case c10::ScalarType::BFloat16:
      return true;
    default:
      return false;
  }
}

/// A read-only-by-contract private mapping; tensors keep it alive through their deleters.
struct Mapping {
  void* addr = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (addr != MAP_FAILED) munmap(addr, size);
  }
};

class Reader {
 public:
  Reader(const char* p, size_t n, const std::string& path) : p_(p), end_(p + n), begin_(p), path_(path) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(cat(path_, ": corrupt feature cache entry at payload byte ", p_ - begin_, ": ", what));
  }
  const char* take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) fail(cat("needs ", n, " more bytes, ", end_ - p_, " left"));
    const char* r = p_;
    p_ += n;
    return r;
  }
  template <class T>
  T pod() {
    T v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  uint8_t u8() { return pod<uint8_t>(); }
  uint32_t u32() { return pod<uint32_t>(); }
  int64_t i64() { return pod<int64_t>(); }
  std::string str() {
    uint32_t n = u32();
    const char* s = take(n);
    return std::string(s, n);
  }
  std::vector<int64_t> ints() {
    uint32_t n = u32();
    uint8_t w = u8();
    if (w != 1 && w != 2 && w != 4 && w != 8) fail(cat("integer width ", int(w)));
    const char* d = take(static_cast<size_t>(n) * w);
    std::vector<int64_t> v(n);
    for (uint32_t i = 0; i < n; ++i) {
      const char* e = d + static_cast<size_t>(i) * w;
      if (w == 1) { int8_t x; std::memcpy(&x, e, 1); v[i] = x; }
      else if (w == 2) { int16_t x; std::memcpy(&x, e, 2); v[i] = x; }
      else if (w == 4) { int32_t x; std::memcpy(&x, e, 4); v[i] = x; }
      else { int64_t x; std::memcpy(&x, e, 8); v[i] = x; }
    }
    return v;
  }
  void align(size_t a) {
    size_t off = static_cast<size_t>(p_ - begin_);
    if (off % a) take(a - off % a);
  }
  Value value(int depth = 0) {
    if (depth > 64) fail("values nested deeper than 64");
    uint8_t t = u8();
    switch (static_cast<Value::Type>(t)) {
      case Value::Type::null: return Value();
      case Value::Type::boolean: return Value(u8() != 0);
      case Value::Type::integer: return Value(i64());
      case Value::Type::floating: return Value(pod<double>());
      case Value::Type::string: return Value(str());
      case Value::Type::array: {
        uint32_t n = u32();
        Value a = Value::array();
        for (uint32_t i = 0; i < n; ++i) a.push_back(value(depth + 1));
        return a;
      }
      case Value::Type::object: {
        uint32_t n = u32();
        Value::Object o;
        o.reserve(n);
        for (uint32_t i = 0; i < n; ++i) {
          std::string k = str();
          o.emplace_back(std::move(k), value(depth + 1));
        }
        return Value(std::move(o));
      }
    }
    fail(cat("value type ", int(t)));
  }
  bool done() const { return p_ == end_; }
  const char* pos() const { return p_; }

 private:
  const char* p_;
  const char* end_;
  const char* begin_;
  const std::string& path_;
};

}  // namespace

void write_feature_file(const std::string& path, const std::string& key_hex, const std::vector<Basket>& baskets,
                        const CacheInfo& info) {
  unsigned char key[32];
  key_bytes(key_hex, key);
  fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  GRAFT_CHECK(!ec, Error, p.parent_path().string(), ": cannot create the cache directory: ", ec.message());
  std::string tmp = cat(path, ".tmp-", ::getpid(), "-", reinterpret_cast<uintptr_t>(&baskets));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    GRAFT_CHECK(out.good(), Error, tmp, ": cannot be written: ", std::strerror(errno));
    char header[kHeaderSize] = {};
    out.write(header, kHeaderSize);  // filled in below
    Writer w(out);
    w.u32(static_cast<uint32_t>(baskets.size()));
    w.i64(info.skipped);
    w.str(info.source);
    w.u32(static_cast<uint32_t>(info.labels.size()));
    for (const auto& l : info.labels) w.str(l);
    for (const auto& b : baskets) {
      w.str(b.id);
      w.str(b.loc.file);
      w.i64(b.loc.line);
      w.i64(b.loc.column);
      w.value(b.raw);
      w.u32(static_cast<uint32_t>(b.samples.size()));
      for (const auto& s : b.samples) {
        w.str(s.id);
        w.value(s.meta);
        const Encoding& e = s.encoding;
        w.ints(e.ids);
        w.ints(e.type_ids);
        w.u32(static_cast<uint32_t>(e.tokens.size()));
        for (const auto& t : e.tokens) w.str(t);
        std::vector<int64_t> off;
        off.reserve(e.offsets.size() * 2);
        for (const auto& [a, z] : e.offsets) {
          off.push_back(a);
          off.push_back(z);
        }
        w.ints(off);
        w.ints(e.word_ids);
        w.ints(e.sequence_ids);
        w.u32(static_cast<uint32_t>(e.special_tokens_mask.size()));
        w.bytes(e.special_tokens_mask.data(), e.special_tokens_mask.size());
        w.u32(static_cast<uint32_t>(s.features.size()));
        for (const auto& [name, t0] : s.features) {
          torch::Tensor t = t0.to(torch::kCPU).contiguous();
          GRAFT_CHECK(known_dtype(static_cast<int8_t>(t.scalar_type())), Error, "feature cache: feature '", name,
                      "' has dtype ", t.dtype(), " which the cache does not store");
          w.str(name);
          w.u8(static_cast<uint8_t>(t.scalar_type()));
          w.u8(static_cast<uint8_t>(t.dim()));
          for (int64_t d = 0; d < t.dim(); ++d) w.i64(t.size(d));
          w.align(8);
          w.bytes(t.data_ptr(), t.numel() * t.element_size());
        }
      }
    }
    w.flush();
    uint32_t fmt = kFeatureCacheFormat, hsize = kHeaderSize;
    uint64_t psize = w.size(), sum = w.checksum();
    std::memcpy(header, kMagic, 8);
    std::memcpy(header + 8, &fmt, 4);
    std::memcpy(header + 12, &hsize, 4);
    std::memcpy(header + 16, key, 32);
    std::memcpy(header + 48, &psize, 8);
    std::memcpy(header + 56, &sum, 8);
    out.seekp(0);
    out.write(header, kHeaderSize);
    out.flush();
    GRAFT_CHECK(out.good(), Error, tmp, ": write failed (disk full?)");
  }
  // fsync before the rename so that a crash leaves either the old state or a complete entry
  int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp);
    throw Error(cat(path, ": cannot be written: ", ec.message()));
  }
}

std::vector<Basket> read_feature_file(const std::string& path, const std::string& key_hex, CacheInfo* info) {
  unsigned char key[32];
  key_bytes(key_hex, key);
  int fd = ::open(path.c_str(), O_RDONLY);
  GRAFT_CHECK(fd >= 0, DataError, path, ": cannot be opened: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw DataError(cat(path, ": cannot be read: ", std::strerror(errno)));
  }
  auto size = static_cast<size_t>(st.st_size);
  if (size < kHeaderSize) {
    ::close(fd);
    throw FormatError(cat(path, ": corrupt feature cache entry: ", size, " bytes, shorter than the 64-byte header"));
  }
  auto map = std::make_shared<Mapping>();
  // private + writable: copy-on-write, so a consumer writing into a tensor never touches the file
  map->addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  GRAFT_CHECK(map->addr != MAP_FAILED, DataError, path, ": cannot be memory-mapped: ", std::strerror(errno));
  map->size = size;
  const char* base = static_cast<const char*>(map->addr);
  auto bad = [&](const std::string& what) { return FormatError(cat(path, ": corrupt feature cache entry: ", what)); };
  if (std::memcmp(base, kMagic, 8) != 0) throw bad("bad magic (not a graft feature cache file)");
  uint32_t fmt, hsize;
  uint64_t psize, sum;
  std::memcpy(&fmt, base + 8, 4);
  std::memcpy(&hsize, base + 12, 4);
  std::memcpy(&psize, base + 48, 8);
  std::memcpy(&sum, base + 56, 8);
  if (fmt != kFeatureCacheFormat) throw bad(cat("format version ", fmt, ", expected ", kFeatureCacheFormat));
  if (hsize != kHeaderSize) throw bad(cat("header size ", hsize, ", expected ", kHeaderSize));
  if (std::memcmp(base + 16, key, 32) != 0) throw bad("the header's key does not match the file name");
  if (psize != size - kHeaderSize)
    throw bad(cat("payload is ", size - kHeaderSize, " bytes, the header says ", psize, " (truncated?)"));
  if (checksum64(base + kHeaderSize, psize) != sum) throw bad("payload checksum mismatch");

  Reader r(base + kHeaderSize, psize, path);
  uint32_t n = r.u32();
  CacheInfo ci;
  ci.skipped = r.i64();
  ci.source = r.str();
  uint32_t nl = r.u32();
  for (uint32_t i = 0; i < nl; ++i) ci.labels.push_back(r.str());
  std::vector<Basket> out;
  out.reserve(n);
  for (uint32_t bi = 0; bi < n; ++bi) {
    Basket b;
    b.id = r.str();
    b.loc.file = r.str();
    b.loc.line = r.i64();
    b.loc.column = r.i64();
    b.raw = r.value();
    uint32_t ns = r.u32();
    b.samples.reserve(ns);
    for (uint32_t si = 0; si < ns; ++si) {
      Sample s;
      s.id = r.str();
      s.meta = r.value();
      Encoding& e = s.encoding;
      e.ids = r.ints();
      e.type_ids = r.ints();
      uint32_t nt = r.u32();
      e.tokens.reserve(nt);
      for (uint32_t i = 0; i < nt; ++i) e.tokens.push_back(r.str());
      auto off = r.ints();
      if (off.size() % 2) r.fail("odd offsets length");
      for (size_t i = 0; i < off.size(); i += 2) e.offsets.emplace_back(off[i], off[i + 1]);
      e.word_ids = r.ints();
      e.sequence_ids = r.ints();
      uint32_t nm = r.u32();
      const char* m = r.take(nm);
      e.special_tokens_mask.assign(reinterpret_cast<const uint8_t*>(m), reinterpret_cast<const uint8_t*>(m) + nm);
      uint32_t nf = r.u32();
      for (uint32_t fi = 0; fi < nf; ++fi) {
        std::string name = r.str();
        auto code = static_cast<int8_t>(r.u8());
        if (!known_dtype(code)) r.fail(cat("feature '", name, "' has unknown dtype code ", int(code)));
        uint8_t dim = r.u8();
        if (dim > 8) r.fail(cat("feature '", name, "' has ", int(dim), " dimensions"));
        std::vector<int64_t> sizes(dim);
        uint64_t numel = 1;
        for (auto& d : sizes) {
          d = r.i64();
          if (d < 0 || d > (int64_t{1} << 40)) r.fail(cat("feature '", name, "' has a bad size ", d));
          numel *= static_cast<uint64_t>(d);
        }
        r.align(8);
        auto opts = torch::TensorOptions().dtype(static_cast<c10::ScalarType>(code));
        size_t bytes = numel * c10::elementSize(static_cast<c10::ScalarType>(code));
        char* data = const_cast<char*>(r.take(bytes));
        s.features.emplace(std::move(name), torch::from_blob(data, sizes, [map](void*) {}, opts));
      }
      b.samples.push_back(std::move(s));
    }
    out.push_back(std::move(b));
  }
  if (!r.done()) r.fail("trailing bytes after the last record");
  if (info) *info = std::move(ci);
  return out;
}

// ---------------------------------------------------------------------------------------------

std::string default_feature_cache_dir() {
  if (const char* d = std::getenv("GRAFT_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/graft/features";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/graft/features";
  return (fs::temp_directory_path() / "graft-cache" / "features").string();
}

FeatureCache::FeatureCache(std::string dir) : dir_(std::move(dir)) {}

std::string FeatureCache::path_for(const std::string& key_hex) const { return dir_ + "/" + key_hex + ".gfc"; }

std::optional<std::vector<Basket>> FeatureCache::load(const std::string& key_hex, CacheInfo* info) const {
  std::string p = path_for(key_hex);
  std::error_code ec;
  if (!fs::exists(p, ec)) return std::nullopt;
  try {
    return read_feature_file(p, key_hex, info);
  } catch (const Error& e) {
    log::warn("feature cache: ignoring and rebuilding an unusable entry: ", e.what());
    fs::remove(p, ec);
    return std::nullopt;
  }
}

bool FeatureCache::store(const std::string& key_hex, const std::vector<Basket>& baskets, const CacheInfo& info) const noexcept {
  try {
    write_feature_file(path_for(key_hex), key_hex, baskets, info);
    return true;
  } catch (const std::exception& e) {
    try {
      log::warn("feature cache: could not store an entry (the run goes on without it): ", e.what());
    } catch (...) {
    }
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Keys from recipes

namespace {

bool is_weight_file(const fs::path& p) {
  static const char* exts[] = {".safetensors", ".bin", ".h5", ".msgpack", ".onnx", ".ckpt", ".pt", ".pth", ".ot"};
  std::string e = p.extension().string();
  for (const char* x : exts)
    if (e == x) return true;
  std::string name = p.filename().string();
  return name.find(".safetensors.index") != std::string::npos || name.find(".bin.index") != std::string::npos;
}

/// Adds the hash of every string in `v` that names an existing file (relative to `base`).
void add_named_files(CacheKey& k, const Value& v, const std::string& base, const std::string& prefix) {
  if (v.is_string()) {
    const std::string& s = v.as_string();
    if (s.empty() || s.size() > 4096) return;
    std::string p = resolve_path(base, s);
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) k.add_file(cat("file ", prefix), p);
  } else if (v.is_array()) {
    size_t i = 0;
    for (const auto& e : v.as_array()) add_named_files(k, e, base, cat(prefix, "[", i++, "]"));
  } else if (v.is_object()) {
    for (const auto& [key, e] : v.as_object()) add_named_files(k, e, base, prefix.empty() ? key : prefix + "." + key);
  }
}

}  // namespace

std::string tokenizer_fingerprint(const Recipe& recipe) {
  try {
    CacheKey k;
    std::string ck = checkpoint_dir(recipe);
    if (!recipe.tokenizer.type.empty()) {
      k.add("tokenizer.type", recipe.tokenizer.type);
      Value opts = recipe.tokenizer.parsed ? write_options(*recipe.tokenizer.parsed) : recipe.tokenizer.options;
      k.add("tokenizer.options", opts.dump_json());
      add_named_files(k, opts, ck.empty() ? recipe.base_dir : ck, "tokenizer");
      // the default vocab of a wordpiece tokenizer is the checkpoint's vocab.txt
      if (!ck.empty() && fs::is_regular_file(ck + "/vocab.txt")) k.add_file("checkpoint vocab.txt", ck + "/vocab.txt");
      return k.text();
    }
    if (ck.empty()) return {};
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(ck))
      if (e.is_regular_file() && !is_weight_file(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) k.add_file(cat("checkpoint file ", f.filename().string()), f.string());
    return k.text();
  } catch (const Error& e) {
    log::debug("feature cache off: the tokenizer's files cannot be fingerprinted: ", e.what());
    return {};
  }
}

std::string processor_fingerprint(const Recipe& recipe, size_t i) {
  const TaskSection& t = recipe.tasks.at(i);
  if (!t.processor) return {};
  CacheKey k;
  k.add("processor.type", t.processor_type);
  k.add("processor.options", write_options(*t.processor).dump_json());
  return k.text();
}

void configure_feature_cache(const Recipe& recipe, SiloOptions& so) {
  if (recipe.data.threads > 0) so.threads = static_cast<int>(recipe.data.threads);
  if (!recipe.data.cache) return;
  so.cache_dir = recipe.data.cache_dir.empty() ? default_feature_cache_dir() : recipe.data.cache_dir;
  so.tokenizer_fingerprint = tokenizer_fingerprint(recipe);
  if (so.tokenizer_fingerprint.empty()) {
    so.cache_dir.clear();
    return;
  }
  for (size_t i = 0; i < recipe.tasks.size(); ++i)
    so.processor_fingerprints[recipe.tasks[i].name] = processor_fingerprint(recipe, i);
}

}  // namespace graft::core
