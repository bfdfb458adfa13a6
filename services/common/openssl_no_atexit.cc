// Linked into every executable and test binary (cmake/HealthtwinHelpers.cmake): asks OpenSSL,
// before anything else initialises it, not to free its state in an atexit handler.
//
// Why: OpenSSL's default atexit handler (OPENSSL_cleanup) deletes the thread-local key that frees
// each thread's error queue and random generators when the thread ends. gRPC's threads are often
// still winding down when the process exits; any of them that ends after OPENSSL_cleanup keeps
// its state, which LeakSanitizer then reports (two 904-byte error states and a 40-byte DRBG
// context, seen in CI under load: BreakGlassTest, stop 29), and a thread that calls into OpenSSL
// after the cleanup uses freed globals. Without the handler the process's exit reclaims the
// memory, threads that end late still free their own state, and LeakSanitizer still reports
// every OpenSSL object our code leaks while running. See OPENSSL_init_crypto(3),
// OPENSSL_INIT_NO_ATEXIT.
#include <openssl/crypto.h>

namespace {

// A static initialiser: runs before main(), so before gRPC or our code first touches OpenSSL
// (the first OPENSSL_init_crypto call decides whether the handler is registered).
[[maybe_unused]] const int kOpensslWithoutAtexit = OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);

}  // namespace
