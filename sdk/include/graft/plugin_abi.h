/* The cross-binary contract between the graft host and a plugin. Plain C, so the host can
 * read it safely even from a plugin built against a different SDK.
 * Bump GRAFT_PLUGIN_ABI_VERSION when any field changes meaning, type or position
 * (using a `reserved` slot for something new does not bump). */
#ifndef GRAFT_PLUGIN_ABI_H
#define GRAFT_PLUGIN_ABI_H
#include <stdint.h>

#define GRAFT_PLUGIN_ABI_VERSION 1u
#define GRAFT_PLUGIN_ENTRY "graft_plugin_entry_v1"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct graft_toolchain_id {
  const char* sdk_version;   /* "0.1.0": host requires the same major.minor while 0.x */
  const char* torch_version; /* "1.13.1": host requires an exact match                */
  const char* compiler;      /* "gcc 12.2.0": shown in messages                         */
  int32_t cxx11_abi;         /* _GLIBCXX_USE_CXX11_ABI, -1 when not libstdc++           */
  int32_t debug_build;       /* 1 when NDEBUG is unset: logged, not fatal               */
} graft_toolchain_id;

typedef struct graft_plugin_descriptor {
  uint32_t struct_size; /* sizeof(graft_plugin_descriptor) as the plugin saw it */
  uint32_t abi_version; /* GRAFT_PLUGIN_ABI_VERSION as the plugin saw it        */
  const char* id;       /* stable snake_case id; the file is libgraft_<id>.so    */
  const char* version;  /* the plugin's own version                             */
  const char* kind;     /* "model_family" | "task_head" | "bundle"              */
  const char* summary;  /* one line for `graft plugins list`                    */
  graft_toolchain_id toolchain;
  /* Called once, after every check passed. Returns 0 on success; otherwise writes a
   * NUL-terminated reason into err[0..err_size) and returns non-zero. Never throws. */
  int (*register_components)(void* registrar, char* err, uint32_t err_size);
  const void* reserved[4];
} graft_plugin_descriptor;

typedef const graft_plugin_descriptor* (*graft_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif
