/* graft_spm: the SentencePiece library behind a plain-C interface.
 *
 * libsentencepiece.so carries its own copy of protobuf-lite, which clashes with LibTorch's
 * libprotobuf when both sit in one link map (a crash during static initialisation). This small
 * module is therefore the only thing that links sentencepiece; core opens it with
 * dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) and talks to it through these functions, which
 * use plain C types only (no C++ object crosses the boundary, no exception escapes it).
 *
 * Strings are UTF-8 with explicit lengths (inputs may contain NUL). Functions that can fail
 * return NULL / -1 and write a NUL-terminated reason into err[0..err_size). */
#ifndef GRAFT_SPM_H
#define GRAFT_SPM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bump when a signature or meaning below changes; core refuses a module with another value. */
#define GRAFT_SPM_API_VERSION 1

typedef struct graft_spm_model graft_spm_model;
typedef struct graft_spm_encoding graft_spm_encoding;

/* One piece of an encoding: sentencepiece's id, the piece string, and the byte span
 * [begin, end) of the input it covers (whitespace runs belong to the following piece). */
typedef struct graft_spm_piece {
  int32_t id;
  uint32_t begin;
  uint32_t end;
  const char* piece;   /* owned by the encoding */
  size_t piece_len;
} graft_spm_piece;

/* Per-id flags (graft_spm_flags). */
#define GRAFT_SPM_UNKNOWN 1
#define GRAFT_SPM_CONTROL 2
#define GRAFT_SPM_UNUSED 4
#define GRAFT_SPM_BYTE 8

int graft_spm_api_version(void);
/* The sentencepiece version the module was built with ("0.1.97"). */
const char* graft_spm_library_version(void);

graft_spm_model* graft_spm_load(const char* path, char* err, size_t err_size);
graft_spm_model* graft_spm_load_from_memory(const char* data, size_t size, char* err, size_t err_size);
void graft_spm_free(graft_spm_model* model);

int32_t graft_spm_vocab_size(const graft_spm_model* model);
/* -1 when the piece is not in the vocabulary (sentencepiece itself would answer unk's id). */
int32_t graft_spm_piece_to_id(const graft_spm_model* model, const char* piece, size_t len);
/* The piece of `id` (pointer valid while the model lives); NULL when out of range. */
const char* graft_spm_id_to_piece(const graft_spm_model* model, int32_t id, size_t* len);
float graft_spm_score(const graft_spm_model* model, int32_t id);
int graft_spm_flags(const graft_spm_model* model, int32_t id);
/* The model's unk id (sentencepiece's unk_id, usually 0 or 1). */
int32_t graft_spm_unk_id(const graft_spm_model* model);

graft_spm_encoding* graft_spm_encode(const graft_spm_model* model, const char* text, size_t len, char* err,
                                     size_t err_size);
size_t graft_spm_encoding_size(const graft_spm_encoding* enc);
/* Fills *out with piece i (0 <= i < size). */
void graft_spm_encoding_piece(const graft_spm_encoding* enc, size_t i, graft_spm_piece* out);
void graft_spm_encoding_free(graft_spm_encoding* enc);

/* sentencepiece's DecodeIds. Returns a malloc'ed NUL-terminated string (length in *len), to be
 * released with graft_spm_string_free; NULL on error. */
char* graft_spm_decode(const graft_spm_model* model, const int32_t* ids, size_t n, size_t* len, char* err,
                       size_t err_size);
void graft_spm_string_free(char* s);

#ifdef __cplusplus
}
#endif
#endif
