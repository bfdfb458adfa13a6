// The development PKI (deploy/pki/make-dev-pki.sh) for tests, issued once per machine and
// copied per test.
//
// The script issues a CA, about twenty EC certificates, a CRL and a keyring: a few hundred
// milliseconds of CPU and, on a loaded two-core machine, several seconds of wall clock. Every
// integration test process needs one, so MakeDevPki issues it once into a cache directory
//   $TMPDIR (or /tmp)/healthtwin-dev-pki-<euid>-<key hash>
// and copies that (files and modes; keys stay 0600, the keyring 0700) into the test's own
// directory. Each test still owns its copy, so a test that revokes a certificate or edits the
// CRL changes nothing for another.
//
// The key is the SHA-256 of make-dev-pki.sh and revoke.sh beside it, the mode (--foreign or
// not), kDevPkiFormat and the UTC date: an edited script issues anew, and no cached
// certificate or CRL is more than a day old (the CRL's next update is days ahead). A cache
// entry appears complete or not at all (built in a staging directory and renamed). Each use
// marks an entry used (its mtime); entries of other keys unused for two days are removed when a
// new one is built.
//
// HEALTHTWIN_PKI_NO_CACHE=1 in the environment runs the script for every call, as before.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace healthtwin::testing {

inline constexpr char kDevPkiNoCacheEnv[] = "HEALTHTWIN_PKI_NO_CACHE";

// Bump when what a cache entry holds changes in a way the key does not show.
inline constexpr int kDevPkiFormat = 1;

// Gives `dir` the development PKI that `script` (make-dev-pki.sh) makes; with `foreign`, the
// unrelated CA and its "intruder" client instead. A missing or empty `dir` is filled from the
// cache; a `dir` that already holds files is handed to the script itself, which completes it
// (the script is idempotent). Errors name the script's exit and stderr, or the file that could
// not be copied.
absl::Status MakeDevPki(const std::string& script, const std::string& dir, bool foreign = false);

}  // namespace healthtwin::testing
