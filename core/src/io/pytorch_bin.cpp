// pytorch_model.bin: the torch.save() zip container read with PyTorchStreamReader, and a small
// pickle interpreter that understands exactly what a state dict needs. Globals are resolved
// from an allow-list only, so a pickle can never name (let alone call) anything else.
#include <graft/core/weights.h>
#include <graft/error.h>

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <unordered_map>
#include <variant>

namespace fs = std::filesystem;

namespace graft::core {

namespace {

struct StorageType {
  const char* name;  // "FloatStorage"
  torch::ScalarType type;
};

const StorageType* storage_type(const std::string& module, const std::string& name) {
  static const StorageType types[] = {
      {"FloatStorage", torch::kFloat32}, {"DoubleStorage", torch::kFloat64}, {"HalfStorage", torch::kFloat16},
      {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kInt64}, {"IntStorage", torch::kInt32},
      {"ShortStorage", torch::kInt16}, {"CharStorage", torch::kInt8}, {"ByteStorage", torch::kUInt8},
      {"BoolStorage", torch::kBool},
  };
  if (module != "torch") return nullptr;
  for (const auto& t : types)
    if (name == t.name) return &t;
  return nullptr;
}

struct Obj;
using ObjPtr = std::shared_ptr<Obj>;

/// A lazily rebuilt tensor: materialised (and validated) once its dict key is known.
struct TensorSpec {
  std::string storage_key;
  torch::ScalarType dtype;
  int64_t storage_numel = 0;
  int64_t offset = 0;
  std::vector<int64_t> size, stride;
};

struct Global {
  std::string module, name;
};

struct Obj {
  enum class Kind { none, boolean, integer, floating, string, tuple, list, dict, global, storage, tensor, mark };
  Kind kind = Kind::none;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<ObjPtr> items;                       // tuple, list
  std::vector<std::pair<ObjPtr, ObjPtr>> entries;  // dict
  Global global;
  TensorSpec tensor;  // storage (dtype, key, numel) and tensor
};

const char* kind_name(Obj::Kind k) {
  switch (k) {
    case Obj::Kind::none: return "None";
    case Obj::Kind::boolean: return "bool";
    case Obj::Kind::integer: return "int";
    case Obj::Kind::floating: return "float";
    case Obj::Kind::string: return "str";
    case Obj::Kind::tuple: return "tuple";
    case Obj::Kind::list: return "list";
    case Obj::Kind::dict: return "dict";
    case Obj::Kind::global: return "global";
    case Obj::Kind::storage: return "storage";
    case Obj::Kind::tensor: return "tensor";
    case Obj::Kind::mark: return "mark";
  }
  return "?";
}

ObjPtr make(Obj::Kind k) {
  auto o = std::make_shared<Obj>();
  o->kind = k;
  return o;
}

class Unpickler {
 public:
  Unpickler(std::string path, const std::string& data) : path_(std::move(path)), d_(data) {}

  ObjPtr run() {
    while (true) {
      const size_t at = pos_;
      const unsigned char op = byte();
      switch (op) {
        case 0x80: {  // PROTO
          unsigned v = byte();
          if (v > 5) fail(at, cat("unsupported pickle protocol ", v));
          break;
        }
        case 0x95: skip(8); break;  // FRAME
        case '}': push(make(Obj::Kind::dict)); break;
        case ']': push(make(Obj::Kind::list)); break;
        case ')': push(make(Obj::Kind::tuple)); break;
        case '(': marks_.push_back(stack_.size()); break;
        case 'q': memo_[byte()] = any_top(at); break;
        case 'r': memo_[u32()] = any_top(at); break;
        case 0x94: memo_[static_cast<uint32_t>(memo_.size())] = any_top(at); break;  // MEMOIZE
        case 'h': push(get_memo(at, byte())); break;
        case 'j': push(get_memo(at, u32())); break;
        case 'X': push(str(u32())); break;
        case 0x8c: push(str(byte())); break;
        case 0x8d: push(str(u64())); break;
        case 'J': push(integer(static_cast<int32_t>(u32()))); break;
        case 'K': push(integer(byte())); break;
        case 'M': {
          uint32_t lo = byte(), hi = byte();
          push(integer(static_cast<int64_t>(lo | (hi << 8))));
          break;
        }
        case 0x8a: {  // LONG1
          unsigned n = byte();
          if (n > 8) fail(at, cat("integer of ", n, " bytes is too large"));
          need(n);
          uint64_t v = 0;
          for (unsigned k = 0; k < n; ++k) v |= static_cast<uint64_t>(static_cast<unsigned char>(d_[pos_ + k])) << (8 * k);
          if (n > 0 && n < 8 && (static_cast<unsigned char>(d_[pos_ + n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);
          pos_ += n;
          push(integer(static_cast<int64_t>(v)));
          break;
        }
        case 'G': {  // BINFLOAT, big-endian double
          need(8);
          uint64_t v = 0;
          for (int k = 0; k < 8; ++k) v = (v << 8) | static_cast<unsigned char>(d_[pos_ + k]);
          pos_ += 8;
          auto o = make(Obj::Kind::floating);
          std::memcpy(&o->f, &v, 8);
          push(o);
          break;
        }
        case 'N': push(make(Obj::Kind::none)); break;
        case 0x88:
        case 0x89: {
          auto o = make(Obj::Kind::boolean);
          o->b = op == 0x88;
          push(o);
          break;
        }
        case 't': {
          auto o = make(Obj::Kind::tuple);
          o->items = pop_to_mark(at);
          push(o);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {
          size_t n = op - 0x84;
          auto o = make(Obj::Kind::tuple);
          if (stack_.size() < n + floor()) fail(at, "stack underflow");
          o->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
          stack_.resize(stack_.size() - n);
          push(o);
          break;
        }
        case 'l': {
          auto o = make(Obj::Kind::list);
          o->items = pop_to_mark(at);
          push(o);
          break;
        }
        case 'd': {
          auto items = pop_to_mark(at);
          if (items.size() % 2) fail(at, "DICT with an odd number of items");
          auto o = make(Obj::Kind::dict);
          for (size_t k = 0; k < items.size(); k += 2) o->entries.emplace_back(items[k], items[k + 1]);
          push(o);
          break;
        }
        case 'a': {
          ObjPtr v = pop(at);
          ObjPtr l = top(at);
          if (l->kind != Obj::Kind::list) fail(at, cat("APPEND to a ", kind_name(l->kind)));
          l->items.push_back(v);
          break;
        }
        case 'e': {
          auto items = pop_to_mark(at);
          ObjPtr l = top(at);
          if (l->kind != Obj::Kind::list) fail(at, cat("APPENDS to a ", kind_name(l->kind)));
          for (auto& v : items) l->items.push_back(v);
          break;
        }
        case 's': {
          ObjPtr v = pop(at);
          ObjPtr k = pop(at);
          ObjPtr dct = top(at);
          if (dct->kind != Obj::Kind::dict) fail(at, cat("SETITEM on a ", kind_name(dct->kind)));
          dct->entries.emplace_back(k, v);
          break;
        }
        case 'u': {
          auto items = pop_to_mark(at);
          if (items.size() % 2) fail(at, "SETITEMS with an odd number of items");
          ObjPtr dct = top(at);
          if (dct->kind != Obj::Kind::dict) fail(at, cat("SETITEMS on a ", kind_name(dct->kind)));
          for (size_t k = 0; k < items.size(); k += 2) dct->entries.emplace_back(items[k], items[k + 1]);
          break;
        }
        case 'c': {
          std::string module = line(at), name = line(at);
          push(global(at, module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          ObjPtr name = pop(at), module = pop(at);
          if (name->kind != Obj::Kind::string || module->kind != Obj::Kind::string) fail(at, "STACK_GLOBAL needs two strings");
          push(global(at, module->s, name->s));
          break;
        }
        case 'Q': push(persistent_load(at, pop(at))); break;
        case 'R': {
          ObjPtr args = pop(at);
          ObjPtr fn = pop(at);
          push(reduce(at, fn, args));
          break;
        }
        case 'b': {  // BUILD: only the OrderedDict's `_metadata` attribute (ignored)
          ObjPtr state = pop(at);
          ObjPtr target = top(at);
          if (target->kind != Obj::Kind::dict) fail(at, cat("BUILD on a ", kind_name(target->kind), " is not supported"));
          (void)state;
          break;
        }
        case '.': {
          if (stack_.size() != 1) fail(at, cat("STOP with ", stack_.size(), " objects on the stack (expected 1)"));
          return stack_.back();
        }
        default:
          fail(at, cat("unsupported pickle opcode 0x", hex(op), " (only the opcodes of a state dict are accepted)"));
      }
    }
  }

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw FormatError(cat(path_, ": data.pkl byte ", at, ": ", what));
  }

 private:
  static std::string hex(unsigned v) {
    const char* digits = "0123456789abcdef";
    return {digits[(v >> 4) & 15], digits[v & 15]};
  }
  void need(uint64_t n) const {
    if (n > d_.size() - pos_) fail(pos_, cat("truncated pickle (needs ", n, " more bytes, ", d_.size() - pos_, " left)"));
  }
  unsigned char byte() {
    need(1);
    return static_cast<unsigned char>(d_[pos_++]);
  }
  void skip(size_t n) {
    need(n);
    pos_ += n;
  }
  uint32_t u32() {
    need(4);
    uint32_t v = 0;
    for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(d_[pos_ + k]);
    pos_ += 4;
    return v;
  }
  uint64_t u64() {
    need(8);
    uint64_t v = 0;
    for (int k = 7; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(d_[pos_ + k]);
    pos_ += 8;
    return v;
  }
  ObjPtr str(uint64_t n) {
    need(n);
    auto o = make(Obj::Kind::string);
    o->s.assign(d_.data() + pos_, n);
    pos_ += n;
    return o;
  }
  std::string line(size_t at) {
    size_t nl = d_.find('\n', pos_);
    if (nl == std::string::npos) fail(at, "GLOBAL without a newline");
    std::string s = d_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return s;
  }
  static ObjPtr integer(int64_t v) {
    auto o = make(Obj::Kind::integer);
    o->i = v;
    return o;
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(ObjPtr o) {
    if (stack_.size() > 1'000'000) fail(pos_, "pickle stack too deep");
    stack_.push_back(std::move(o));
  }
  ObjPtr pop(size_t at) {
    if (stack_.size() <= floor()) fail(at, "stack underflow");
    ObjPtr o = stack_.back();
    stack_.pop_back();
    return o;
  }
  ObjPtr top(size_t at) const {
    if (stack_.size() <= floor()) fail(at, "stack underflow");
    return stack_.back();
  }
  ObjPtr any_top(size_t at) const {
    if (stack_.empty()) fail(at, "memo store with an empty stack");
    return stack_.back();
  }
  ObjPtr get_memo(size_t at, uint32_t k) const {
    auto it = memo_.find(k);
    if (it == memo_.end()) fail(at, cat("memo key ", k, " was never stored"));
    return it->second;
  }
  std::vector<ObjPtr> pop_to_mark(size_t at) {
    if (marks_.empty()) fail(at, "no MARK on the stack");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ObjPtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }

  ObjPtr global(size_t at, const std::string& module, const std::string& name) {
    const bool allowed = (module == "collections" && name == "OrderedDict") ||
                         (module == "torch._utils" && (name == "_rebuild_tensor_v2" || name == "_rebuild_parameter")) ||
                         storage_type(module, name) != nullptr;
    if (!allowed)
      fail(at, cat("global '", module, ".", name,
                   "' is not allowed (a state dict only uses collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
                   "torch._utils._rebuild_parameter and torch.*Storage)"));
    auto o = make(Obj::Kind::global);
    o->global = Global{module, name};
    return o;
  }

  ObjPtr persistent_load(size_t at, const ObjPtr& pid) {
    // ('storage', torch.FloatStorage, '<key>', 'cpu', numel)
    if (pid->kind != Obj::Kind::tuple || pid->items.size() != 5 || pid->items[0]->kind != Obj::Kind::string ||
        pid->items[0]->s != "storage")
      fail(at, "persistent id is not ('storage', type, key, location, numel)");
    const auto& type = pid->items[1];
    const auto& key = pid->items[2];
    const auto& numel = pid->items[4];
    if (type->kind != Obj::Kind::global || !storage_type(type->global.module, type->global.name))
      fail(at, "persistent id names no torch.*Storage type");
    if (key->kind != Obj::Kind::string) fail(at, "storage key is not a string");
    if (numel->kind != Obj::Kind::integer || numel->i < 0) fail(at, "storage size is not a non-negative integer");
    auto o = make(Obj::Kind::storage);
    o->tensor.storage_key = key->s;
    o->tensor.dtype = storage_type(type->global.module, type->global.name)->type;
    o->tensor.storage_numel = numel->i;
    return o;
  }

  static bool int_tuple(const ObjPtr& o, std::vector<int64_t>& out) {
    if (o->kind != Obj::Kind::tuple) return false;
    out.clear();
    for (const auto& e : o->items) {
      if (e->kind != Obj::Kind::integer) return false;
      out.push_back(e->i);
    }
    return true;
  }

  ObjPtr reduce(size_t at, const ObjPtr& fn, const ObjPtr& args) {
    if (fn->kind != Obj::Kind::global) fail(at, cat("REDUCE on a ", kind_name(fn->kind)));
    if (args->kind != Obj::Kind::tuple) fail(at, "REDUCE arguments are not a tuple");
    const auto& g = fn->global;
    const auto& a = args->items;
    if (g.module == "collections" && g.name == "OrderedDict") {
      if (!a.empty()) fail(at, "OrderedDict(...) with arguments is not supported");
      return make(Obj::Kind::dict);
    }
    if (g.name == "_rebuild_tensor_v2") {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (a.size() < 6 || a.size() > 7) fail(at, cat("_rebuild_tensor_v2 with ", a.size(), " arguments (expected 6 or 7)"));
      if (a[0]->kind != Obj::Kind::storage) fail(at, "_rebuild_tensor_v2: first argument is not a storage");
      if (a[1]->kind != Obj::Kind::integer) fail(at, "_rebuild_tensor_v2: storage offset is not an integer");
      auto o = make(Obj::Kind::tensor);
      o->tensor = a[0]->tensor;
      o->tensor.offset = a[1]->i;
      if (!int_tuple(a[2], o->tensor.size) || !int_tuple(a[3], o->tensor.stride))
        fail(at, "_rebuild_tensor_v2: size/stride are not tuples of integers");
      return o;
    }
    if (g.name == "_rebuild_parameter") {
      if (a.size() != 3 || a[0]->kind != Obj::Kind::tensor) fail(at, "_rebuild_parameter(tensor, requires_grad, hooks) expected");
      return a[0];
    }
    fail(at, cat("calling '", g.module, ".", g.name, "' is not supported"));
  }

  std::string path_;
  const std::string& d_;
  size_t pos_ = 0;
  std::vector<ObjPtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, ObjPtr> memo_;
};

}  // namespace

StateDict read_pytorch_bin(const std::string& path, const ReadOptions& options) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw FormatError(cat(path, ": no such file"));
  {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {0, 0, 0, 0};
    in.read(magic, 4);
    if (in.gcount() < 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0) {
      if (in.gcount() >= 2 && static_cast<unsigned char>(magic[0]) == 0x80)
        throw FormatError(cat(path, ": legacy (pre-zip, torch < 1.6) torch.save format is not supported; re-save it with a "
                                    "current torch or convert it to model.safetensors"));
      throw FormatError(cat(path, ": not a zip archive (expected a torch.save() state dict)"));
    }
  }
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  std::string pickle;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
    if (!reader->hasRecord("data.pkl")) throw FormatError(cat(path, ": archive has no data.pkl record"));
    auto [ptr, size] = reader->getRecord("data.pkl");
    pickle.assign(static_cast<const char*>(ptr.get()), size);
    if (reader->hasRecord("byteorder")) {
      auto [bptr, bsize] = reader->getRecord("byteorder");
      std::string order(static_cast<const char*>(bptr.get()), bsize);
      if (order != "little") throw FormatError(cat(path, ": byteorder '", order, "' is not supported (expected little)"));
    }
  } catch (const c10::Error& e) {
    throw FormatError(cat(path, ": not a readable torch.save() zip archive (truncated or corrupt): ",
                          e.what_without_backtrace()));
  }

  Unpickler up(path, pickle);
  ObjPtr root = up.run();
  if (root->kind != Obj::Kind::dict)
    throw FormatError(cat(path, ": data.pkl holds a ", kind_name(root->kind), ", expected a state dict (OrderedDict)"));

  // Storages are read once and shared by every tensor viewing them (tied weights).
  std::map<std::string, torch::Tensor> storages;
  StateDict sd;
  sd.set_source(path);
  for (const auto& [k, v] : root->entries) {
    if (k->kind != Obj::Kind::string) throw FormatError(cat(path, ": state dict key is a ", kind_name(k->kind), ", expected str"));
    const std::string& name = k->s;
    if (v->kind != Obj::Kind::tensor)
      throw FormatError(cat(path, ": state dict entry '", name, "' is a ", kind_name(v->kind), ", expected a tensor"));
    const TensorSpec& ts = v->tensor;
    torch::Tensor storage;
    auto it = storages.find(ts.storage_key);
    if (it != storages.end()) {
      storage = it->second;
      if (storage.numel() != ts.storage_numel)
        throw FormatError(cat(path, ": tensor '", name, "': storage data/", ts.storage_key, " declared with ", ts.storage_numel,
                              " elements, elsewhere with ", storage.numel()));
    } else {
      const std::string rec = "data/" + ts.storage_key;
      const size_t elsize = c10::elementSize(ts.dtype);
      try {
        if (!reader->hasRecord(rec)) throw FormatError(cat(path, ": tensor '", name, "': archive has no record ", rec));
        auto [ptr, size] = reader->getRecord(rec);
        if (size != static_cast<size_t>(ts.storage_numel) * elsize)
          throw FormatError(cat(path, ": tensor '", name, "': record ", rec, " has ", size, " bytes but its storage declares ",
                                ts.storage_numel, " elements of ", elsize, " bytes"));
        auto holder = std::make_shared<at::DataPtr>(std::move(ptr));
        void* raw = holder->get();
        if (ts.storage_numel == 0)
          storage = torch::empty({0}, torch::TensorOptions().dtype(ts.dtype));
        else
          storage = torch::from_blob(raw, {ts.storage_numel}, [holder](void*) mutable { holder.reset(); },
                                     torch::TensorOptions().dtype(ts.dtype));
      } catch (const c10::Error& e) {
        throw FormatError(cat(path, ": tensor '", name, "': record ", rec, " cannot be read: ", e.what_without_backtrace()));
      }
      if (options.upcast_half && (ts.dtype == torch::kFloat16 || ts.dtype == torch::kBFloat16))
        storage = storage.to(torch::kFloat32);
      storages.emplace(ts.storage_key, storage);
    }
    // Validate the view before creating it.
    if (ts.size.size() != ts.stride.size())
      throw FormatError(cat(path, ": tensor '", name, "': size has ", ts.size.size(), " dims but stride has ", ts.stride.size()));
    int64_t max_index = ts.offset, numel = 1;
    for (size_t d = 0; d < ts.size.size(); ++d) {
      if (ts.size[d] < 0 || ts.stride[d] < 0) throw FormatError(cat(path, ": tensor '", name, "': negative size or stride"));
      numel *= ts.size[d];
      if (ts.size[d] > 0) max_index += (ts.size[d] - 1) * ts.stride[d];
    }
    if (ts.offset < 0 || (numel > 0 && max_index >= storage.numel()))
      throw FormatError(cat(path, ": tensor '", name, "': view (offset ", ts.offset, ", sizes/strides) reaches element ",
                            max_index, " of a storage with ", storage.numel(), " elements"));
    sd.set(name, storage.as_strided(ts.size, ts.stride, ts.offset));
  }
  return sd;
}

}  // namespace graft::core
