#include "services/alerts/patient_windows.h"

#include <algorithm>

#include "services/alerts/evaluation_plan.h"

namespace healthtwin::alerts {
namespace {

bool IsHeartRate(int type) { return type == rules::kHeartRate || type == rules::kPulseRate; }

bool Before(const CachedRow& a, const CachedRow& b) {
  return a.point.measured_us != b.point.measured_us ? a.point.measured_us < b.point.measured_us
                                                    : a.ingest_seq < b.ingest_seq;
}

void DropBefore(std::vector<CachedRow>& rows, int64_t from_us) {
  auto first = std::lower_bound(rows.begin(), rows.end(), from_us,
                                [](const CachedRow& r, int64_t t) { return r.point.measured_us < t; });
  rows.erase(rows.begin(), first);
}

}  // namespace

bool ContactLostAt(const LostPeriods& lost, const std::string& device_id, int64_t t_us) {
  auto it = lost.find(device_id);
  if (it == lost.end()) return false;
  for (const auto& [from, to] : it->second) {
    if (t_us >= from && t_us < to) return true;
  }
  return false;
}

bool PatientWindow::Add(CachedRow row) {
  auto& rows = IsHeartRate(row.point.vital_type) ? hr : sparse;
  // Same measured time and seq: already there (a row re-read behind an unsettled gap). Vitals
  // are append-only, so one seq has one measured time and lower_bound finds it.
  auto at = std::lower_bound(rows.begin(), rows.end(), row, Before);
  if (at != rows.end() && at->ingest_seq == row.ingest_seq) return false;
  trackers.SampleAdded(row.point.device_id, row.point.measured_us);
  rows.insert(at, std::move(row));
  return true;
}

void PatientWindow::TrimTo(int64_t sparse_from, int64_t hr_from) {
  if (sparse_from > sparse_from_us) {
    DropBefore(sparse, sparse_from);
    sparse_from_us = sparse_from;
  }
  if (hr_from > hr_from_us) {
    DropBefore(hr, hr_from);
    hr_from_us = hr_from;
  }
}

bool PatientWindow::SetLost(LostPeriods periods) {
  if (periods == lost) return false;
  lost = std::move(periods);
  trackers.Clear();  // samples may have changed their flags, so the series they are in
  for (auto* rows : {&sparse, &hr}) {
    for (CachedRow& r : *rows) {
      r.point.flags = EngineFlags(r.stored_flags, ContactLostAt(lost, r.point.device_id, r.point.measured_us));
    }
  }
  return true;
}

// Calls `f` with every row of both series in (measured, ingest_seq) order.
template <typename F>
void ForEachInOrder(const std::vector<CachedRow>& sparse, const std::vector<CachedRow>& hr, F f) {
  auto s = sparse.begin();
  auto h = hr.begin();
  while (s != sparse.end() || h != hr.end()) {
    const bool take_sparse = h == hr.end() || (s != sparse.end() && Before(*s, *h));
    f(*(take_sparse ? s++ : h++));
  }
}

std::vector<rules::VitalPoint> PatientWindow::Merged() const {
  std::vector<rules::VitalPoint> out;
  out.reserve(rows());
  ForEachInOrder(sparse, hr, [&](const CachedRow& r) { out.push_back(r.point); });
  return out;
}

std::vector<SampleTime> PatientWindow::Times() const {
  std::vector<SampleTime> out;
  out.reserve(rows());
  ForEachInOrder(sparse, hr, [&](const CachedRow& r) { out.push_back({r.point.vital_type, r.point.measured_us}); });
  return out;
}

PatientWindow* PatientWindows::Find(const std::string& patient) {
  auto it = windows_.find(patient);
  if (it == windows_.end()) return nullptr;
  it->second.last_used = round_;
  return &it->second;
}

PatientWindow& PatientWindows::Put(const std::string& patient, PatientWindow window) {
  window.last_used = round_;
  return windows_[patient] = std::move(window);
}

size_t PatientWindows::rows() const {
  size_t n = 0;
  for (const auto& [_, w] : windows_) n += w.rows();
  return n;
}

int PatientWindows::EvictToCap() {
  size_t total = rows();
  if (total <= max_rows_) return 0;
  std::vector<std::pair<uint64_t, std::string>> by_use;
  by_use.reserve(windows_.size());
  for (const auto& [patient, w] : windows_) by_use.emplace_back(w.last_used, patient);
  std::sort(by_use.begin(), by_use.end());
  int evicted = 0;
  for (const auto& [_, patient] : by_use) {
    if (total <= max_rows_) break;
    auto it = windows_.find(patient);
    total -= it->second.rows();
    windows_.erase(it);
    ++evicted;
  }
  return evicted;
}

}  // namespace healthtwin::alerts
