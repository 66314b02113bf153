// pytorch_model.bin writer: the torch.save() zip layout written with LibTorch's own
// PyTorchStreamWriter (miniz; stored records, 64-byte aligned data) and a pickle protocol 2
// stream emitted by hand with the opcodes Python's pickler uses for a state dict.
#include <graft/core/hf_export.h>
#include <graft/error.h>

#include <caffe2/serialize/inline_container.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <unordered_map>

namespace fs = std::filesystem;

namespace graft::core {

namespace {

const char* storage_class(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "FloatStorage";
    case torch::kFloat64: return "DoubleStorage";
    case torch::kFloat16: return "HalfStorage";
    case torch::kBFloat16: return "BFloat16Storage";
    case torch::kInt64: return "LongStorage";
    case torch::kInt32: return "IntStorage";
    case torch::kInt16: return "ShortStorage";
    case torch::kInt8: return "CharStorage";
    case torch::kUInt8: return "ByteStorage";
    case torch::kBool: return "BoolStorage";
    default: return nullptr;
  }
}

/// Emits pickle protocol 2 opcodes. Globals are memoized (BINPUT/BINGET) as Python does.
class PickleWriter {
 public:
  PickleWriter() { out_ += "\x80\x02"; }

  void op(char c) { out_.push_back(c); }
  void mark() { op('('); }

  void global(const std::string& module, const std::string& name) {
    const std::string key = module + "\n" + name;
    auto it = memo_.find(key);
    if (it != memo_.end()) {
      get(it->second);
      return;
    }
    out_ += "c" + module + "\n" + name + "\n";
    put(key);
  }

  void str(const std::string& s) {
    op('X');
    le32(static_cast<uint32_t>(s.size()));
    out_ += s;
  }

  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');
      out_.push_back(static_cast<char>(v));
    } else if (v >= 0 && v < 65536) {
      op('M');
      out_.push_back(static_cast<char>(v & 0xff));
      out_.push_back(static_cast<char>((v >> 8) & 0xff));
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      le32(static_cast<uint32_t>(static_cast<int32_t>(v)));
    } else {  // LONG1: little-endian two's complement, shortest form
      std::string bytes;
      uint64_t u = static_cast<uint64_t>(v);
      for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
      while (bytes.size() > 1) {
        unsigned char last = static_cast<unsigned char>(bytes.back());
        unsigned char prev = static_cast<unsigned char>(bytes[bytes.size() - 2]);
        if ((last == 0x00 && !(prev & 0x80)) || (last == 0xff && (prev & 0x80)))
          bytes.pop_back();
        else
          break;
      }
      op('\x8a');
      out_.push_back(static_cast<char>(bytes.size()));
      out_ += bytes;
    }
  }

  void int_tuple(const std::vector<int64_t>& v) {
    if (v.empty()) {
      op(')');
      return;
    }
    if (v.size() > 3) mark();
    for (int64_t x : v) integer(x);
    if (v.size() == 1)
      op('\x85');
    else if (v.size() == 2)
      op('\x86');
    else if (v.size() == 3)
      op('\x87');
    else
      op('t');
  }

  /// OrderedDict() — the class memoized, then an empty-tuple REDUCE.
  void ordered_dict() {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  }

  std::string finish() {
    op('.');
    return std::move(out_);
  }

 private:
  void le32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void put(const std::string& key) {
    uint32_t idx = next_++;
    memo_[key] = idx;
    if (idx < 256) {
      op('q');
      out_.push_back(static_cast<char>(idx));
    } else {
      op('r');
      le32(idx);
    }
  }
  void get(uint32_t idx) {
    if (idx < 256) {
      op('h');
      out_.push_back(static_cast<char>(idx));
    } else {
      op('j');
      le32(idx);
    }
  }

  std::string out_;
  std::unordered_map<std::string, uint32_t> memo_;
  uint32_t next_ = 0;
};

struct StorageRecord {
  std::string key;
  torch::Tensor data;  ///< 1-D, CPU, contiguous, the whole storage
};

void fsync_path(const std::string& path, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(cat(what, ": cannot reopen for fsync: ", std::strerror(errno)));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw Error(cat(what, ": fsync failed: ", std::strerror(err)));
}

}  // namespace

void write_pytorch_bin(const std::string& path, const StateDict& sd) {
  // Distinct storages (by storage and dtype) in first-use order: tied tensors share a record.
  std::map<std::pair<const void*, int>, size_t> storage_index;
  std::vector<StorageRecord> storages;
  PickleWriter p;
  p.ordered_dict();
  size_t in_batch = 0;
  p.mark();
  for (const auto& [name, tensor] : sd) {
    if (!tensor.defined()) throw FormatError(cat(path, ": tensor '", name, "' is undefined"));
    const torch::ScalarType dtype = tensor.scalar_type();
    const char* cls = storage_class(dtype);
    if (!cls)
      throw FormatError(cat(path, ": tensor '", name, "' has dtype ", c10::toString(dtype),
                            ", which torch.save has no legacy storage class for"));
    torch::Tensor t = tensor.detach();
    if (t.is_sparse() || t.is_quantized() || !t.has_storage())
      throw FormatError(cat(path, ": tensor '", name, "' is not a dense strided tensor"));
    const int64_t elsize = static_cast<int64_t>(t.element_size());
    const auto& storage = t.storage();
    const int64_t nbytes = static_cast<int64_t>(storage.nbytes());
    // A storage viewed with another dtype, or with an odd byte count, is written as a copy.
    const bool whole = nbytes % elsize == 0;
    const void* sptr = whole ? static_cast<const void*>(storage.unsafeGetStorageImpl()) : nullptr;
    std::pair<const void*, int> id{sptr, static_cast<int>(dtype)};
    size_t si;
    int64_t offset = t.storage_offset();
    std::vector<int64_t> sizes = t.sizes().vec(), strides = t.strides().vec();
    auto found = sptr ? storage_index.find(id) : storage_index.end();
    if (found != storage_index.end()) {
      si = found->second;
    } else {
      torch::Tensor flat;
      if (whole) {
        flat = torch::empty({0}, t.options()).set_(storage, 0, {nbytes / elsize}, {1});
      } else {
        flat = t.contiguous().reshape({-1});
        offset = 0;
        strides = t.contiguous().strides().vec();
      }
      flat = flat.to(torch::kCPU).contiguous();
      si = storages.size();
      storages.push_back(StorageRecord{std::to_string(si), flat});
      if (sptr) storage_index.emplace(id, si);
    }
    const StorageRecord& rec = storages[si];

    // key, _rebuild_tensor_v2((persid), offset, size, stride, False, OrderedDict())
    p.str(name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.mark();
    p.mark();
    p.str("storage");
    p.global("torch", cls);
    p.str(rec.key);
    p.str("cpu");
    p.integer(rec.data.numel());
    p.op('t');
    p.op('Q');  // BINPERSID
    p.integer(offset);
    p.int_tuple(sizes);
    p.int_tuple(strides);
    p.op('\x89');  // NEWFALSE: requires_grad
    p.ordered_dict();
    p.op('t');
    p.op('R');
    if (++in_batch == 1000) {  // SETITEMS in batches of 1000, as Python's pickler does
      p.op('u');
      p.mark();
      in_batch = 0;
    }
  }
  p.op('u');
  const std::string pickle = p.finish();

  // Built inside a private temp directory so the archive name is the final file's stem.
  fs::path final_path(path);
  if (final_path.has_parent_path()) fs::create_directories(final_path.parent_path());
  static std::atomic<int> counter{0};
  const fs::path tmp_dir = final_path.parent_path() /
                           cat(".", final_path.filename().string(), ".tmp-", ::getpid(), "-", counter++);
  std::error_code ec;
  fs::remove_all(tmp_dir, ec);
  fs::create_directories(tmp_dir);
  const fs::path tmp_file = tmp_dir / final_path.filename();
  try {
    {
      caffe2::serialize::PyTorchStreamWriter w(tmp_file.string());
      w.writeRecord("data.pkl", pickle.data(), pickle.size());
      static const char little[] = "little";
      w.writeRecord("byteorder", little, 6);
      static const char empty = 0;
      for (const auto& rec : storages) {
        const size_t n = static_cast<size_t>(rec.data.numel()) * rec.data.element_size();
        w.writeRecord("data/" + rec.key, n ? rec.data.data_ptr() : &empty, n);
      }
      w.writeEndOfFile();
    }
    fsync_path(tmp_file.string(), path);
    fs::rename(tmp_file, final_path);
    fs::remove_all(tmp_dir, ec);
  } catch (const c10::Error& e) {
    fs::remove_all(tmp_dir, ec);
    throw Error(cat(path, ": cannot be written: ", e.what_without_backtrace()));
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp_dir, ec);
    throw Error(cat(path, ": cannot be written: ", e.what()));
  } catch (...) {
    fs::remove_all(tmp_dir, ec);
    throw;
  }
}

}  // namespace graft::core
