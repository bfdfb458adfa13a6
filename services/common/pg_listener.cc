#include "services/common/pg_listener.h"

#include <thread>

namespace healthtwin::common {

void PgListener::Wait(std::chrono::milliseconds timeout) {
  try {
    if (!conn_) {
      conn_ = std::make_unique<pqxx::connection>(conninfo_);
      pqxx::nontransaction tx(*conn_);
      for (const std::string& channel : channels_) tx.exec("LISTEN " + tx.quote_name(channel));
    }
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
    conn_->await_notification(static_cast<long>(us / 1'000'000), static_cast<long>(us % 1'000'000));
  } catch (const std::exception&) {
    conn_.reset();
    std::this_thread::sleep_for(timeout);
  }
}

}  // namespace healthtwin::common
