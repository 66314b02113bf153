// graft_spm: sentencepiece behind the plain-C interface of graft_spm.h (see there for why).
#include "graft_spm.h"

#include <sentencepiece_processor.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#define GRAFT_SPM_EXPORT extern "C" __attribute__((visibility("default")))

struct graft_spm_model {
  sentencepiece::SentencePieceProcessor sp;
};

struct graft_spm_encoding {
  sentencepiece::ImmutableSentencePieceText text;
  std::vector<sentencepiece::ImmutableSentencePieceText_ImmutableSentencePiece> pieces;
};

namespace {

void set_error(char* err, size_t size, const std::string& what) {
  if (!err || size == 0) return;
  size_t n = what.size() < size - 1 ? what.size() : size - 1;
  std::memcpy(err, what.data(), n);
  err[n] = '\0';
}

bool valid_id(const graft_spm_model* m, int32_t id) { return m && id >= 0 && id < m->sp.GetPieceSize(); }

}  // namespace

GRAFT_SPM_EXPORT int graft_spm_api_version(void) { return GRAFT_SPM_API_VERSION; }

GRAFT_SPM_EXPORT const char* graft_spm_library_version(void) { return GRAFT_SPM_SENTENCEPIECE_VERSION; }

GRAFT_SPM_EXPORT graft_spm_model* graft_spm_load(const char* path, char* err, size_t err_size) {
  try {
    auto m = std::make_unique<graft_spm_model>();
    auto status = m->sp.Load(path);
    if (!status.ok()) {
      set_error(err, err_size, status.ToString());
      return nullptr;
    }
    return m.release();
  } catch (const std::exception& e) {
    set_error(err, err_size, e.what());
  } catch (...) {
    set_error(err, err_size, "unknown error");
  }
  return nullptr;
}

GRAFT_SPM_EXPORT graft_spm_model* graft_spm_load_from_memory(const char* data, size_t size, char* err,
                                                             size_t err_size) {
  try {
    auto m = std::make_unique<graft_spm_model>();
    auto status = m->sp.LoadFromSerializedProto(absl::string_view(data, size));
    if (!status.ok()) {
      set_error(err, err_size, status.ToString());
      return nullptr;
    }
    return m.release();
  } catch (const std::exception& e) {
    set_error(err, err_size, e.what());
  } catch (...) {
    set_error(err, err_size, "unknown error");
  }
  return nullptr;
}

GRAFT_SPM_EXPORT void graft_spm_free(graft_spm_model* model) { delete model; }

GRAFT_SPM_EXPORT int32_t graft_spm_vocab_size(const graft_spm_model* model) {
  return model ? model->sp.GetPieceSize() : 0;
}

GRAFT_SPM_EXPORT int32_t graft_spm_piece_to_id(const graft_spm_model* model, const char* piece, size_t len) {
  if (!model) return -1;
  try {
    absl::string_view p(piece, len);
    int id = model->sp.PieceToId(p);
    // PieceToId answers unk_id for unknown pieces: tell a real "<unk>" from a miss.
    if (id == model->sp.unk_id() && model->sp.IdToPiece(id) != std::string(piece, len)) return -1;
    return id;
  } catch (...) {
    return -1;
  }
}

GRAFT_SPM_EXPORT const char* graft_spm_id_to_piece(const graft_spm_model* model, int32_t id, size_t* len) {
  if (!valid_id(model, id)) return nullptr;
  const std::string& s = model->sp.IdToPiece(id);
  if (len) *len = s.size();
  return s.c_str();
}

GRAFT_SPM_EXPORT float graft_spm_score(const graft_spm_model* model, int32_t id) {
  return valid_id(model, id) ? model->sp.GetScore(id) : 0.0f;
}

GRAFT_SPM_EXPORT int graft_spm_flags(const graft_spm_model* model, int32_t id) {
  if (!valid_id(model, id)) return 0;
  int f = 0;
  if (model->sp.IsUnknown(id)) f |= GRAFT_SPM_UNKNOWN;
  if (model->sp.IsControl(id)) f |= GRAFT_SPM_CONTROL;
  if (model->sp.IsUnused(id)) f |= GRAFT_SPM_UNUSED;
  if (model->sp.IsByte(id)) f |= GRAFT_SPM_BYTE;
  return f;
}

GRAFT_SPM_EXPORT int32_t graft_spm_unk_id(const graft_spm_model* model) { return model ? model->sp.unk_id() : -1; }

GRAFT_SPM_EXPORT graft_spm_encoding* graft_spm_encode(const graft_spm_model* model, const char* text, size_t len,
                                                      char* err, size_t err_size) {
  if (!model) {
    set_error(err, err_size, "no model");
    return nullptr;
  }
  try {
    auto enc = std::make_unique<graft_spm_encoding>();
    auto status = model->sp.Encode(absl::string_view(text, len), enc->text.mutable_proto());
    if (!status.ok()) {
      set_error(err, err_size, status.ToString());
      return nullptr;
    }
    enc->pieces = enc->text.pieces();
    return enc.release();
  } catch (const std::exception& e) {
    set_error(err, err_size, e.what());
  } catch (...) {
    set_error(err, err_size, "unknown error");
  }
  return nullptr;
}

GRAFT_SPM_EXPORT size_t graft_spm_encoding_size(const graft_spm_encoding* enc) { return enc ? enc->pieces.size() : 0; }

GRAFT_SPM_EXPORT void graft_spm_encoding_piece(const graft_spm_encoding* enc, size_t i, graft_spm_piece* out) {
  const auto& p = enc->pieces[i];
  out->id = static_cast<int32_t>(p.id());
  out->begin = p.begin();
  out->end = p.end();
  const std::string& s = p.piece();
  out->piece = s.data();
  out->piece_len = s.size();
}

GRAFT_SPM_EXPORT void graft_spm_encoding_free(graft_spm_encoding* enc) { delete enc; }

GRAFT_SPM_EXPORT char* graft_spm_decode(const graft_spm_model* model, const int32_t* ids, size_t n, size_t* len,
                                        char* err, size_t err_size) {
  if (!model) {
    set_error(err, err_size, "no model");
    return nullptr;
  }
  try {
    std::vector<int> v;
    v.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (!valid_id(model, ids[i])) {
        set_error(err, err_size, "id " + std::to_string(ids[i]) + " is out of range");
        return nullptr;
      }
      v.push_back(ids[i]);
    }
    std::string out;
    auto status = model->sp.Decode(v, &out);
    if (!status.ok()) {
      set_error(err, err_size, status.ToString());
      return nullptr;
    }
    char* s = static_cast<char*>(std::malloc(out.size() + 1));
    if (!s) {
      set_error(err, err_size, "out of memory");
      return nullptr;
    }
    std::memcpy(s, out.data(), out.size());
    s[out.size()] = '\0';
    if (len) *len = out.size();
    return s;
  } catch (const std::exception& e) {
    set_error(err, err_size, e.what());
  } catch (...) {
    set_error(err, err_size, "unknown error");
  }
  return nullptr;
}

GRAFT_SPM_EXPORT void graft_spm_string_free(char* s) { std::free(s); }
