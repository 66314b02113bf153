#pragma once
// Symbol visibility for libgraft_sdk.so. Plugins build with hidden visibility; SDK types
// are exported so their key functions (out-of-line destructors) exist exactly once.
#if defined(GRAFT_SDK_BUILDING)
#define GRAFT_SDK_API __attribute__((visibility("default")))
#else
#define GRAFT_SDK_API __attribute__((visibility("default")))
#endif
#define GRAFT_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))
