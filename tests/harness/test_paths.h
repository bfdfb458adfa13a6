// Paths a test or tool finds at run time: scripts in the source tree, other binaries of the
// build, output directories.
//
// `ht_test_paths(<target> NAME value ...)` (cmake/HealthtwinHelpers.cmake) writes the pairs to
// `<binary>.paths` beside the binary and defines each NAME as `TestPath("NAME")`, so sources
// keep writing `HT_PKI_SCRIPT` and get a `const char*`. The paths are not compile definitions:
// those would differ between two clones of the repository, and ccache would then miss every
// source of the target in a fresh clone (CI), in every preset.
//
// This header is force-included into those targets' sources (-include), so they need no
// include line of their own.
#pragma once

namespace healthtwin::testing {

// The value of `name` in the running binary's `.paths` file, read once. Aborts with a message
// naming the file and the name when either is missing: a test cannot run without its paths,
// and a build-tree mistake must not look like a test failure.
const char* TestPath(const char* name);

}  // namespace healthtwin::testing
