// A std::terminate handler that says what escaped before the process aborts, so that a future
// bug (an exception leaving a thread, a noexcept violation) leaves one line naming the exception
// type and its what() on stderr instead of a bare "Aborted".
#pragma once

#include <string>

namespace healthtwin::ble {

// Installs the handler; `program` starts the line ("healthtwin-bridge: ..."). Thread-safe to call
// once at start-up, before other threads exist.
void InstallTerminateHandler(const char* program);

// "sdbus::Error: [org.freedesktop.DBus.Error.Disconnected] ..." for the exception being handled
// now (std::current_exception()), or "no active exception". Used by the handler; exposed for tests.
std::string DescribeCurrentException();

}  // namespace healthtwin::ble
