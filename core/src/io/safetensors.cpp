// safetensors: memory-mapped, validated reading; atomic HF-layout writing; sharded indexes.
#include <graft/core/json.h>
#include <graft/core/weights.h>
#include <graft/error.h>
#include <graft/log.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace graft::core {

namespace {

using json = nlohmann::ordered_json;

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  size_t size;
};

const std::vector<DtypeInfo>& dtypes() {
  static const std::vector<DtypeInfo> d = {
      {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
      {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
      {"I16", torch::kInt16, 2}, {"I8", torch::kInt8, 1}, {"U8", torch::kUInt8, 1},
      {"BOOL", torch::kBool, 1},
  };
  return d;
}

const DtypeInfo* dtype_by_name(const std::string& n) {
  for (const auto& d : dtypes())
    if (n == d.name) return &d;
  return nullptr;
}

/// A read-only file mapped copy-on-write; unmapped when the last tensor using it dies.
struct Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr && addr != MAP_FAILED) ::munmap(addr, size);
  }
};

std::shared_ptr<Mapping> map_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw FormatError(cat(path, ": no such file"));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw FormatError(cat(path, ": cannot be opened: ", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FormatError(cat(path, ": not a regular file"));
  }
  auto m = std::make_shared<Mapping>();
  m->size = static_cast<size_t>(st.st_size);
  if (m->size > 0) {
    m->addr = ::mmap(nullptr, m->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (m->addr == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      m->addr = nullptr;
      throw FormatError(cat(path, ": cannot be memory-mapped: ", std::strerror(err)));
    }
  }
  ::close(fd);
  return m;
}

uint64_t read_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

}  // namespace

std::string safetensors_dtype_name(torch::ScalarType t) {
  for (const auto& d : dtypes())
    if (d.type == t) return d.name;
  throw FormatError(cat("safetensors has no dtype for torch type ", c10::toString(t)));
}

StateDict read_safetensors(const std::string& path, const ReadOptions& options) {
  auto m = map_file(path);
  const auto* base = static_cast<const unsigned char*>(m->addr);
  if (m->size < 8)
    throw FormatError(cat(path, ": file is ", m->size, " bytes, too short for a safetensors header (8-byte length)"));
  const uint64_t header_len = read_u64_le(base);
  if (header_len > m->size - 8)
    throw FormatError(cat(path, ": header length ", header_len, " goes beyond the file size ", m->size,
                          " (truncated or not a safetensors file)"));
  if (header_len > 100u * 1024 * 1024)
    throw FormatError(cat(path, ": header length ", header_len, " is larger than the 100 MB safetensors limit"));
  const std::string_view header_text(reinterpret_cast<const char*>(base + 8), header_len);
  json header;
  try {
    header = json::parse(header_text);
  } catch (const json::exception& e) {
    throw FormatError(cat(path, ": header is not valid JSON: ", e.what()));
  }
  if (!header.is_object()) throw FormatError(cat(path, ": header must be a JSON object, found ", header.type_name()));

  const unsigned char* data = base + 8 + header_len;
  const uint64_t data_size = m->size - 8 - header_len;

  struct Entry {
    std::string name;
    const DtypeInfo* dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw FormatError(cat(path, ": \"__metadata__\" must be an object of strings"));
      continue;
    }
    auto where = [&](const std::string& field) { return cat(path, ": tensor '", name, "' field '", field, "'"); };
    if (!v.is_object()) throw FormatError(cat(path, ": tensor '", name, "' must be an object with dtype, shape, data_offsets"));
    for (const char* f : {"dtype", "shape", "data_offsets"})
      if (!v.contains(f)) throw FormatError(cat(path, ": tensor '", name, "' has no '", f, "' field"));
    if (!v["dtype"].is_string()) throw FormatError(cat(where("dtype"), " must be a string"));
    const std::string dname = v["dtype"].get<std::string>();
    const DtypeInfo* dt = dtype_by_name(dname);
    if (!dt)
      throw FormatError(cat(where("dtype"), ": unknown or unsupported dtype '", dname,
                            "' (expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)"));
    const json& js = v["shape"];
    if (!js.is_array()) throw FormatError(cat(where("shape"), " must be an array of non-negative integers"));
    Entry e{name, dt, {}, 0, 0};
    uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : js) {
      if (!d.is_number_unsigned())
        throw FormatError(cat(where("shape"), " must be an array of non-negative integers, found ", js.dump()));
      uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
      if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / dim) overflow = true;
      numel *= dim;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    if (overflow) throw FormatError(cat(where("shape"), " ", js.dump(), " is too large"));
    const json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw FormatError(cat(where("data_offsets"), " must be [begin, end] with non-negative integers, found ", off.dump()));
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      throw FormatError(cat(where("data_offsets"), " [", e.begin, ", ", e.end, "] out of range: the data section has ",
                            data_size, " bytes"));
    if (numel > std::numeric_limits<uint64_t>::max() / dt->size || e.end - e.begin != numel * dt->size)
      throw FormatError(cat(path, ": tensor '", name, "' has ", e.end - e.begin, " bytes in data_offsets [", e.begin, ", ",
                            e.end, "] but dtype ", dname, " x shape ", shape_str(e.shape), " needs ", numel * dt->size,
                            " bytes"));
    entries.push_back(std::move(e));
  }
  // Byte ranges must not overlap (the format also forbids holes).
  {
    std::vector<const Entry*> by_offset;
    for (const auto& e : entries) by_offset.push_back(&e);
    std::stable_sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t pos = 0;
    const Entry* prev = nullptr;
    for (const Entry* e : by_offset) {
      if (e->begin < pos)
        throw FormatError(cat(path, ": tensor '", e->name, "' data_offsets [", e->begin, ", ", e->end,
                              "] overlap tensor '", prev->name, "' [", prev->begin, ", ", prev->end, "]"));
      if (e->begin > pos)
        throw FormatError(cat(path, ": tensor '", e->name, "' data_offsets start at ", e->begin, " but the previous tensor ends at ",
                              pos, " (the data section must have no holes)"));
      pos = e->end;
      prev = e;
    }
    if (pos != data_size)
      throw FormatError(cat(path, ": tensors cover ", pos, " bytes but the data section has ", data_size,
                            " (trailing bytes or a wrong header)"));
  }

  StateDict sd;
  sd.set_source(path);
  for (const auto& e : entries) {
    const unsigned char* p = data + e.begin;
    torch::Tensor t;
    auto opts = torch::TensorOptions().dtype(e.dtype->type);
    if (e.end == e.begin) {
      t = torch::empty(e.shape, opts);
    } else if (reinterpret_cast<uintptr_t>(p) % e.dtype->size == 0) {
      auto keep = m;
      t = torch::from_blob(const_cast<unsigned char*>(p), e.shape, [keep](void*) mutable { keep.reset(); }, opts);
    } else {  // misaligned: copy out
      t = torch::empty(e.shape, opts);
      std::memcpy(t.data_ptr(), p, e.end - e.begin);
    }
    if (options.upcast_half && (e.dtype->type == torch::kFloat16 || e.dtype->type == torch::kBFloat16))
      t = t.to(torch::kFloat32);
    sd.set(e.name, std::move(t));
  }
  return sd;
}

StateDict read_sharded(const std::string& index_path, const ReadOptions& options) {
  Value index = read_json_file(index_path);
  if (!index.is_object()) throw FormatError(cat(index_path, ": expected a JSON object with \"weight_map\""));
  const Value* wm = index.find("weight_map");
  if (!wm || !wm->is_object())
    throw FormatError(cat(index_path, ": field 'weight_map' missing or not an object {tensor name: shard file}"));
  const fs::path dir = fs::path(index_path).parent_path();
  std::vector<std::string> shards;  // first-seen order
  std::map<std::string, std::set<std::string>> expected;
  for (const auto& [name, file] : wm->as_object()) {
    if (!file.is_string())
      throw FormatError(cat(index_path, ": weight_map entry '", name, "' must be a file name string"));
    const std::string& f = file.as_string();
    if (f.empty() || f.find('/') != std::string::npos || f == "..")
      throw FormatError(cat(index_path, ": weight_map entry '", name, "' names '", f, "', expected a file in the same directory"));
    if (!expected.count(f)) shards.push_back(f);
    expected[f].insert(name);
  }
  // Shards in file-name order (HF numbers them), tensors in each shard's own order.
  std::sort(shards.begin(), shards.end());
  StateDict sd;
  sd.set_source(index_path);
  for (const auto& f : shards) {
    const std::string shard_path = (dir / f).string();
    std::error_code ec;
    if (!fs::exists(shard_path, ec))
      throw FormatError(cat(index_path, ": shard '", f, "' (holding e.g. '", *expected[f].begin(), "') does not exist"));
    StateDict part = read_weights(shard_path, options);
    for (const auto& name : expected[f])
      if (!part.contains(name))
        throw FormatError(cat(index_path, ": weight_map puts tensor '", name, "' in '", f, "' but that shard has no such tensor"));
    for (const auto& [name, t] : part) {
      if (sd.contains(name)) throw FormatError(cat(index_path, ": tensor '", name, "' appears in more than one shard"));
      if (!expected[f].count(name))
        log::warn(index_path, ": shard '", f, "' holds tensor '", name, "' that weight_map does not list; loading it anyway");
      sd.set(name, t);
    }
  }
  return sd;
}

void write_safetensors(const std::string& path, const StateDict& sd,
                       const std::vector<std::pair<std::string, std::string>>& metadata) {
  json header = json::object();
  if (!metadata.empty()) {
    json md = json::object();
    for (const auto& [k, v] : metadata) md[k] = v;
    header["__metadata__"] = md;
  }
  std::vector<torch::Tensor> blobs;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : sd) {
    if (name == "__metadata__") throw FormatError(cat(path, ": a tensor cannot be named '__metadata__'"));
    if (!tensor.defined()) throw FormatError(cat(path, ": tensor '", name, "' is undefined"));
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const std::string dt = safetensors_dtype_name(t.scalar_type());
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[name] = json{{"dtype", dt}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    blobs.push_back(std::move(t));
  }
  std::string htext = header.dump();
  while (htext.size() % 8 != 0) htext.push_back(' ');

  fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  static std::atomic<int> counter{0};
  const std::string tmp = cat(path, ".tmp-", ::getpid(), "-", counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(cat(path, ": cannot be written: ", std::strerror(errno)));
  auto write_all = [&](const void* buf, size_t n) {
    const char* d = static_cast<const char*>(buf);
    while (n > 0) {
      ssize_t w = ::write(fd, d, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw Error(cat(path, ": write failed: ", std::strerror(err)));
      }
      d += w;
      n -= static_cast<size_t>(w);
    }
  };
  unsigned char len[8];
  uint64_t hl = htext.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((hl >> (8 * i)) & 0xff);
  write_all(len, 8);
  write_all(htext.data(), htext.size());
  for (const auto& t : blobs) write_all(t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size());
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(cat(path, ": fsync failed: ", std::strerror(err)));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw Error(cat(path, ": rename failed: ", std::strerror(err)));
  }
}

}  // namespace graft::core
