// Opening libgraft_spm.so and calling its C interface. The module is $GRAFT_SPM_MODULE when set
// (only that file), else the first of "<dir of libgraft_core.so>/graft/libgraft_spm.so" (build
// tree and install tree alike) and "<prefix>/<plugin install dir>/../libgraft_spm.so" next to the
// executable.
#include "spm_module.h"

#include "graft_spm.h"

#include <graft/error.h>

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace fs = std::filesystem;

namespace graft::core::tok {

namespace {

struct Api {
  std::string path;
  decltype(&graft_spm_api_version) api_version = nullptr;
  decltype(&graft_spm_load_from_memory) load_from_memory = nullptr;
  decltype(&graft_spm_free) free_model = nullptr;
  decltype(&graft_spm_vocab_size) vocab_size = nullptr;
  decltype(&graft_spm_piece_to_id) piece_to_id = nullptr;
  decltype(&graft_spm_id_to_piece) id_to_piece = nullptr;
  decltype(&graft_spm_score) score = nullptr;
  decltype(&graft_spm_flags) flags = nullptr;
  decltype(&graft_spm_unk_id) unk_id = nullptr;
  decltype(&graft_spm_encode) encode = nullptr;
  decltype(&graft_spm_encoding_size) encoding_size = nullptr;
  decltype(&graft_spm_encoding_piece) encoding_piece = nullptr;
  decltype(&graft_spm_encoding_free) encoding_free = nullptr;
  decltype(&graft_spm_decode) decode = nullptr;
  decltype(&graft_spm_string_free) string_free = nullptr;
};

std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("GRAFT_SPM_MODULE"); env && *env) {
    out.emplace_back(env);  // an explicit choice: nothing else is tried
    return out;
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&candidates), &info) && info.dli_fname) {
    std::error_code ec;
    fs::path lib = fs::weakly_canonical(fs::path(info.dli_fname), ec);
    if (ec) lib = info.dli_fname;
    out.push_back((lib.parent_path() / "graft" / "libgraft_spm.so").string());
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && !exe.empty()) {
    fs::path prefix = exe.parent_path().parent_path();
    out.push_back((prefix / fs::path(GRAFT_PLUGIN_INSTALL_DIR_REL).parent_path() / "libgraft_spm.so").string());
    out.push_back((prefix / "lib" / "graft" / "libgraft_spm.so").string());
  }
  return out;
}

template <class F>
void bind(void* h, const char* name, F& f, const std::string& path) {
  void* sym = dlsym(h, name);
  if (!sym)
    throw FormatError(cat("SentencePiece module ", path, " lacks the symbol ", name,
                          "; it does not belong to this graft build (rebuild target graft_spm)"));
  f = reinterpret_cast<F>(sym);
}

const Api& api() {
  static std::once_flag once;
  static Api* the = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    std::string tried;
    for (const auto& path : candidates()) {
      std::error_code ec;
      if (!fs::exists(path, ec)) {
        tried += cat("\n  ", path, " (not found)");
        continue;
      }
      // RTLD_DEEPBIND: the module and libsentencepiece resolve protobuf against their own copy,
      // never against LibTorch's libprotobuf already in the process (see graft_spm.h).
      void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (!h) {
        const char* e = dlerror();
        tried += cat("\n  ", path, " (", e ? e : "dlopen failed", ")");
        continue;
      }
      auto* a = new Api();  // never freed: the module is never unloaded
      a->path = path;
      try {
        bind(h, "graft_spm_api_version", a->api_version, path);
        if (a->api_version() != GRAFT_SPM_API_VERSION)
          throw FormatError(cat("SentencePiece module ", path, " speaks interface v", a->api_version(),
                                " but this graft needs v", GRAFT_SPM_API_VERSION, "; rebuild target graft_spm"));
        bind(h, "graft_spm_load_from_memory", a->load_from_memory, path);
        bind(h, "graft_spm_free", a->free_model, path);
        bind(h, "graft_spm_vocab_size", a->vocab_size, path);
        bind(h, "graft_spm_piece_to_id", a->piece_to_id, path);
        bind(h, "graft_spm_id_to_piece", a->id_to_piece, path);
        bind(h, "graft_spm_score", a->score, path);
        bind(h, "graft_spm_flags", a->flags, path);
        bind(h, "graft_spm_unk_id", a->unk_id, path);
        bind(h, "graft_spm_encode", a->encode, path);
        bind(h, "graft_spm_encoding_size", a->encoding_size, path);
        bind(h, "graft_spm_encoding_piece", a->encoding_piece, path);
        bind(h, "graft_spm_encoding_free", a->encoding_free, path);
        bind(h, "graft_spm_decode", a->decode, path);
        bind(h, "graft_spm_string_free", a->string_free, path);
      } catch (const Error& e) {
        failure = e.what();
        delete a;
        return;
      }
      the = a;
      return;
    }
    failure = cat("SentencePiece support is not available: libgraft_spm.so was not found or could not be opened "
                  "(tried:",
                  tried,
                  ")\n  build it with `tools/build.sh graft_spm` (it is installed to <libdir>/graft/), or point "
                  "GRAFT_SPM_MODULE at it");
  });
  if (!the) throw FormatError(failure);
  return *the;
}

graft_spm_model* model_of(void* h) { return static_cast<graft_spm_model*>(h); }

}  // namespace

std::string spm_module_path() {
  try {
    return api().path;
  } catch (const Error&) {
    return "";
  }
}

SpmModel::SpmModel(std::string bytes, std::string path) : bytes_(std::move(bytes)), path_(std::move(path)) {
  const Api& a = api();
  char err[512] = {0};
  handle_ = a.load_from_memory(bytes_.data(), bytes_.size(), err, sizeof err);
  if (!handle_)
    throw FormatError(cat(path_, ": not a valid SentencePiece model (", err[0] ? err : "unknown error", ")"));
  if (a.vocab_size(model_of(handle_)) <= 0) throw FormatError(cat(path_, ": the SentencePiece model has no pieces"));
}

SpmModel::~SpmModel() {
  if (handle_) api().free_model(model_of(handle_));
}

int32_t SpmModel::size() const { return api().vocab_size(model_of(handle_)); }

int32_t SpmModel::piece_to_id(std::string_view piece) const {
  return api().piece_to_id(model_of(handle_), piece.data(), piece.size());
}

std::string_view SpmModel::id_to_piece(int32_t id) const {
  size_t len = 0;
  const char* p = api().id_to_piece(model_of(handle_), id, &len);
  return p ? std::string_view(p, len) : std::string_view();
}

float SpmModel::score(int32_t id) const { return api().score(model_of(handle_), id); }
bool SpmModel::is_unknown(int32_t id) const { return api().flags(model_of(handle_), id) & GRAFT_SPM_UNKNOWN; }
bool SpmModel::is_control(int32_t id) const { return api().flags(model_of(handle_), id) & GRAFT_SPM_CONTROL; }
bool SpmModel::is_unused(int32_t id) const { return api().flags(model_of(handle_), id) & GRAFT_SPM_UNUSED; }
bool SpmModel::is_byte(int32_t id) const { return api().flags(model_of(handle_), id) & GRAFT_SPM_BYTE; }
int32_t SpmModel::unk_id() const { return api().unk_id(model_of(handle_)); }

void SpmModel::encode(std::string_view text, std::vector<SpmPiece>& out) const {
  const Api& a = api();
  out.clear();
  char err[512] = {0};
  graft_spm_encoding* enc = a.encode(model_of(handle_), text.data(), text.size(), err, sizeof err);
  if (!enc) throw DataError(cat(path_, ": SentencePiece could not encode the text: ", err));
  size_t n = a.encoding_size(enc);
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    graft_spm_piece p{};
    a.encoding_piece(enc, i, &p);
    out[i].id = p.id;
    out[i].begin = p.begin;
    out[i].end = p.end;
    out[i].piece.assign(p.piece, p.piece_len);
  }
  a.encoding_free(enc);
}

std::string SpmModel::decode(const std::vector<int32_t>& ids) const {
  const Api& a = api();
  char err[512] = {0};
  size_t len = 0;
  char* s = a.decode(model_of(handle_), ids.data(), ids.size(), &len, err, sizeof err);
  if (!s) throw DataError(cat(path_, ": SentencePiece could not decode: ", err));
  std::string out(s, len);
  a.string_free(s);
  return out;
}

}  // namespace graft::core::tok
