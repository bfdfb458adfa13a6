#include "ble_bridge/cli/terminate_handler.h"

#include <cxxabi.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <typeinfo>

namespace healthtwin::ble {
namespace {

const char* g_program = "healthtwin";

std::string Demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

[[noreturn]] void OnTerminate() {
  const std::string line = std::string(g_program) + ": std::terminate: " + DescribeCurrentException() + "\n";
  // write(2), not iostreams: the process may be in any state now.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
  std::abort();
}

}  // namespace

std::string DescribeCurrentException() {
  std::exception_ptr current = std::current_exception();
  if (!current) return "no active exception (std::terminate called directly, or a joinable std::thread destroyed)";
  try {
    std::rethrow_exception(current);
  } catch (const std::exception& e) {
    return Demangle(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return (type != nullptr ? Demangle(type->name()) : std::string("unknown type")) + " (not a std::exception)";
  }
}

void InstallTerminateHandler(const char* program) {
  g_program = program;
  std::set_terminate(OnTerminate);
}

}  // namespace healthtwin::ble
