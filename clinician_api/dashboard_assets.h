// The dashboard's static files (clinician_api/dashboard/*.{html,js,css} and the vendored uPlot),
// embedded into the binary at build time by cmake/EmbedAssets.cmake: served from memory, never
// read from disk or fetched at runtime. Immutable; safe from any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace healthtwin::clinician {

struct EmbeddedAsset {
  const char* name;          // URL path below /assets/, e.g. "uPlot.iife.min.js"
  const char* content_type;  // from the file's extension
  const unsigned char* data;
  std::size_t size;
};

extern const EmbeddedAsset kEmbeddedAssets[];
extern const std::size_t kEmbeddedAssetCount;

// The asset named `name`, or null.
inline const EmbeddedAsset* FindAsset(std::string_view name) {
  for (std::size_t i = 0; i < kEmbeddedAssetCount; ++i) {
    if (name == kEmbeddedAssets[i].name) return &kEmbeddedAssets[i];
  }
  return nullptr;
}

}  // namespace healthtwin::clinician
