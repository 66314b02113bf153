#pragma once
// GRAFT_PLUGIN(id, version, kind, summary, register_fn): the one macro a plugin writes.
// It emits the C entry point `graft_plugin_entry_v1` returning the descriptor, and a noexcept
// trampoline that runs `void register_fn(graft::Registrar&)` and turns exceptions into text.
#include <graft/export.h>
#include <graft/plugin_abi.h>
#include <graft/registrar.h>
#include <graft/version.h>

#include <cstdio>
#include <cstring>
#include <exception>

namespace graft::detail {

template <class Fn>
int run_registration(Fn&& fn, void* registrar, char* err, uint32_t err_size) noexcept {
  try {
    fn(*static_cast<Registrar*>(registrar));
    return 0;
  } catch (const std::exception& e) {
    if (err && err_size) std::snprintf(err, err_size, "%s", e.what());
  } catch (...) {
    if (err && err_size) std::snprintf(err, err_size, "%s", "unknown exception");
  }
  return 1;
}

#if defined(_GLIBCXX_USE_CXX11_ABI)
inline constexpr int32_t kCxx11Abi = _GLIBCXX_USE_CXX11_ABI;
#else
inline constexpr int32_t kCxx11Abi = -1;
#endif
#if defined(NDEBUG)
inline constexpr int32_t kDebugBuild = 0;
#else
inline constexpr int32_t kDebugBuild = 1;
#endif
#define GRAFT_STR2_(x) #x
#define GRAFT_STR_(x) GRAFT_STR2_(x)
#if defined(__clang__)
#define GRAFT_COMPILER_ "clang " __clang_version__
#elif defined(__GNUC__)
#define GRAFT_COMPILER_ "gcc " GRAFT_STR_(__GNUC__) "." GRAFT_STR_(__GNUC_MINOR__) "." GRAFT_STR_(__GNUC_PATCHLEVEL__)
#else
#define GRAFT_COMPILER_ "unknown"
#endif

}  // namespace graft::detail

#define GRAFT_PLUGIN(ID, VERSION, KIND, SUMMARY, REGISTER_FN)                                     \
  namespace {                                                                                     \
  int graft_register_trampoline_(void* r, char* err, uint32_t n) noexcept {                       \
    return ::graft::detail::run_registration(REGISTER_FN, r, err, n);                             \
  }                                                                                               \
  }                                                                                               \
  GRAFT_PLUGIN_EXPORT const graft_plugin_descriptor* graft_plugin_entry_v1() {                     \
    static const graft_plugin_descriptor d = {                                                    \
        sizeof(graft_plugin_descriptor),                                                          \
        GRAFT_PLUGIN_ABI_VERSION,                                                                 \
        #ID,                                                                                      \
        VERSION,                                                                                  \
        KIND,                                                                                     \
        SUMMARY,                                                                                  \
        {GRAFT_VERSION, GRAFT_TORCH_VERSION, GRAFT_COMPILER_, ::graft::detail::kCxx11Abi,          \
         ::graft::detail::kDebugBuild},                                                           \
        &graft_register_trampoline_,                                                              \
        {nullptr, nullptr, nullptr, nullptr}};                                                    \
    return &d;                                                                                    \
  }
