#include "models/cardiovascular_engine.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace healthtwin::models {
namespace {

// State vector layout: compartment volumes (ml), inertial flows (ml/s), filtered pressure.
enum StateIndex : std::size_t {
  kVsa, kFsa, kVperiph, kVsv, kVev, kVra, kVrv, kVpa, kFpa, kVpp, kVpv, kVla, kVlv, kPtilde,
  kStateCount
};
constexpr std::size_t kVolumeIndices[] = {kVsa, kVperiph, kVsv, kVev, kVra, kVrv,
                                          kVpa, kVpp,     kVpv, kVla, kVlv};

// Quantities held constant over one step: reflex outputs, beat timing, external flow.
struct Drive {
  double emax_lv_mmhg_per_ml = 0.0;
  double emax_rv_mmhg_per_ml = 0.0;
  double r_sp_mmhg_s_per_ml = 0.0;
  double r_ep_mmhg_s_per_ml = 0.0;
  double vu_sv_ml = 0.0;
  double vu_ev_ml = 0.0;
  double beat_start_s = 0.0;
  double beat_period_s = 1.0;
  double systole_s = 0.3;
  double external_flow_ml_s = 0.0;  // into the extrasplanchnic veins; negative = loss
  double tau_z_s = 6.37;
  double tau_p_s = 2.076;
};

// Every pressure and valve flow at one instant.
struct Snapshot {
  double p_sa, p_periph, p_sv, p_ev, p_ra, p_rv, p_pa, p_pp, p_pv, p_la, p_lv;
  double q_tricuspid, q_pulmonary, q_mitral, q_aortic;
};

// Ventricular activation [U98 eq. 15]: sin^2 over systole, zero in diastole.
double Activation(double t_s, const Drive& d) {
  double e = t_s - d.beat_start_s;
  if (e >= d.beat_period_s) e -= d.beat_period_s;  // a stage that peeks past the beat end
  if (e < 0.0 || e >= d.systole_s) return 0.0;
  const double s = std::sin(std::numbers::pi * e / d.systole_s);
  return s * s;
}

struct VentricleOut {
  double p_mmhg;
  double q_in_ml_s;
  double q_out_ml_s;
};

VentricleOut Ventricle(double v_ml, double phi, double emax, const VentricleParams& vp,
                       double p_in_mmhg, double r_in, double p_out_mmhg) {
  const double pmax = phi * emax * (v_ml - vp.unstressed_volume_ml) +
                      (1.0 - phi) * vp.p0_mmhg * (std::exp(vp.ke_per_ml * v_ml) - 1.0);
  VentricleOut out{pmax, 0.0, 0.0};
  // Ejection through a valve that does not leak; the viscous resistance scales with Pmax.
  if (pmax > p_out_mmhg && pmax > 0.0) {
    const double r_visc = vp.kr_s_per_ml * pmax;
    out.q_out_ml_s = (pmax - p_out_mmhg) / r_visc;
    out.p_mmhg = pmax - r_visc * out.q_out_ml_s;  // equals p_out during ejection
  }
  // Filling through an inflow valve that does not leak.
  if (p_in_mmhg > out.p_mmhg) out.q_in_ml_s = (p_in_mmhg - out.p_mmhg) / r_in;
  return out;
}

Snapshot Evaluate(double t_s, std::span<const double> y, const CirculationParams& c, const Drive& d) {
  Snapshot s{};
  s.p_sa = (y[kVsa] - c.vu_sa_ml) / c.c_sa_ml_per_mmhg;
  s.p_periph = (y[kVperiph] - c.vu_sp_ml - c.vu_ep_ml) / (c.c_sp_ml_per_mmhg + c.c_ep_ml_per_mmhg);
  s.p_sv = (y[kVsv] - d.vu_sv_ml) / c.c_sv_ml_per_mmhg;
  s.p_ev = (y[kVev] - d.vu_ev_ml) / c.c_ev_ml_per_mmhg;
  s.p_ra = (y[kVra] - c.vu_ra_ml) / c.c_ra_ml_per_mmhg;
  s.p_pa = (y[kVpa] - c.vu_pa_ml) / c.c_pa_ml_per_mmhg;
  s.p_pp = (y[kVpp] - c.vu_pp_ml) / c.c_pp_ml_per_mmhg;
  s.p_pv = (y[kVpv] - c.vu_pv_ml) / c.c_pv_ml_per_mmhg;
  s.p_la = (y[kVla] - c.vu_la_ml) / c.c_la_ml_per_mmhg;
  const double phi = Activation(t_s, d);
  const VentricleOut rv =
      Ventricle(y[kVrv], phi, d.emax_rv_mmhg_per_ml, c.rv, s.p_ra, c.r_tricuspid_mmhg_s_per_ml, s.p_pa);
  const VentricleOut lv =
      Ventricle(y[kVlv], phi, d.emax_lv_mmhg_per_ml, c.lv, s.p_la, c.r_mitral_mmhg_s_per_ml, s.p_sa);
  s.p_rv = rv.p_mmhg;
  s.p_lv = lv.p_mmhg;
  s.q_tricuspid = rv.q_in_ml_s;
  s.q_pulmonary = rv.q_out_ml_s;
  s.q_mitral = lv.q_in_ml_s;
  s.q_aortic = lv.q_out_ml_s;
  return s;
}

class CirculationOde final : public OdeSystem {
 public:
  CirculationOde(const CirculationParams* params, const Drive* drive) : c_(params), d_(drive) {}
  std::size_t Dimension() const override { return kStateCount; }

  void Derivatives(double t_s, std::span<const double> y, std::span<double> dy) const override {
    const CirculationParams& c = *c_;
    const Drive& d = *d_;
    const Snapshot s = Evaluate(t_s, y, c, d);
    const double q_sp = (s.p_periph - s.p_sv) / d.r_sp_mmhg_s_per_ml;
    const double q_ep = (s.p_periph - s.p_ev) / d.r_ep_mmhg_s_per_ml;
    const double q_sv = (s.p_sv - s.p_ra) / c.r_sv_mmhg_s_per_ml;
    const double q_ev = (s.p_ev - s.p_ra) / c.r_ev_mmhg_s_per_ml;
    const double q_pp = (s.p_pp - s.p_pv) / c.r_pp_mmhg_s_per_ml;
    const double q_pv = (s.p_pv - s.p_la) / c.r_pv_mmhg_s_per_ml;
    dy[kVsa] = s.q_aortic - y[kFsa];
    dy[kFsa] = (s.p_sa - s.p_periph - c.r_sa_mmhg_s_per_ml * y[kFsa]) / c.l_sa_mmhg_s2_per_ml;
    dy[kVperiph] = y[kFsa] - q_sp - q_ep;
    dy[kVsv] = q_sp - q_sv;
    dy[kVev] = q_ep - q_ev + d.external_flow_ml_s;
    dy[kVra] = q_sv + q_ev - s.q_tricuspid;
    dy[kVrv] = s.q_tricuspid - s.q_pulmonary;
    dy[kVpa] = s.q_pulmonary - y[kFpa];
    dy[kFpa] = (s.p_pa - s.p_pp - c.r_pa_mmhg_s_per_ml * y[kFpa]) / c.l_pa_mmhg_s2_per_ml;
    dy[kVpp] = y[kFpa] - q_pp;
    dy[kVpv] = q_pp - q_pv;
    dy[kVla] = q_pv - s.q_mitral;
    dy[kVlv] = s.q_mitral - s.q_aortic;
    // Baroreceptor lead-lag on arterial pressure [U98 eq. 19].
    const double dp_sa = dy[kVsa] / c.c_sa_ml_per_mmhg;
    dy[kPtilde] = (s.p_sa + d.tau_z_s * dp_sa - y[kPtilde]) / d.tau_p_s;
  }

 private:
  const CirculationParams* c_;
  const Drive* d_;
};

// A history of one signal sampled every step, read back at a delay by linear interpolation.
class DelayLine {
 public:
  void Reset(double max_delay_s, double dt_s, double value) {
    dt_s_ = dt_s;
    buffer_.assign(static_cast<std::size_t>(std::ceil(max_delay_s / dt_s)) + 2, value);
    head_ = 0;
  }
  void Push(double value) {
    head_ = (head_ + 1) % buffer_.size();
    buffer_[head_] = value;
  }
  double At(double delay_s) const {
    const double steps = delay_s / dt_s_;
    const auto whole = static_cast<std::size_t>(steps);
    const double frac = steps - static_cast<double>(whole);
    const std::size_t n = buffer_.size();
    const double a = buffer_[(head_ + n - whole % n) % n];
    const double b = buffer_[(head_ + n - (whole + 1) % n) % n];
    return a + frac * (b - a);
  }

 private:
  std::vector<double> buffer_;
  std::size_t head_ = 0;
  double dt_s_ = 1.0;
};

// SplitMix64 (Steele et al. 2014): tiny, seedable and identical on every platform.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1).
  double Uniform() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }
  double StandardNormal() {
    const double u1 = Uniform();
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::uint64_t state_;
};

struct BeatAccumulator {
  double p_sa_max = -std::numeric_limits<double>::infinity();
  double p_sa_min = std::numeric_limits<double>::infinity();
  double p_pa_max = -std::numeric_limits<double>::infinity();
  double p_pa_min = std::numeric_limits<double>::infinity();
  double v_lv_max = -std::numeric_limits<double>::infinity();
  double v_lv_min = std::numeric_limits<double>::infinity();
  double sum_p_sa = 0.0, sum_p_pa = 0.0, sum_p_ra = 0.0, sum_p_la = 0.0;
  int samples = 0;
};

absl::Status Positive(double v, const char* name) {
  if (!(v > 0.0) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be positive and finite, got ", v));
  }
  return absl::OkStatus();
}

absl::Status Validate(const ModelParams& p, const EngineOptions& o) {
  const CirculationParams& c = p.circulation;
  for (auto [v, name] : {std::pair{o.dt_s, "dt_s"},
                         {c.c_sa_ml_per_mmhg, "c_sa_ml_per_mmhg"},
                         {c.r_sa_mmhg_s_per_ml, "r_sa_mmhg_s_per_ml"},
                         {c.l_sa_mmhg_s2_per_ml, "l_sa_mmhg_s2_per_ml"},
                         {c.c_sp_ml_per_mmhg, "c_sp_ml_per_mmhg"},
                         {c.c_ep_ml_per_mmhg, "c_ep_ml_per_mmhg"},
                         {c.r_sp0_mmhg_s_per_ml, "r_sp0_mmhg_s_per_ml"},
                         {c.r_ep0_mmhg_s_per_ml, "r_ep0_mmhg_s_per_ml"},
                         {c.c_sv_ml_per_mmhg, "c_sv_ml_per_mmhg"},
                         {c.c_ev_ml_per_mmhg, "c_ev_ml_per_mmhg"},
                         {c.r_sv_mmhg_s_per_ml, "r_sv_mmhg_s_per_ml"},
                         {c.r_ev_mmhg_s_per_ml, "r_ev_mmhg_s_per_ml"},
                         {c.c_ra_ml_per_mmhg, "c_ra_ml_per_mmhg"},
                         {c.r_tricuspid_mmhg_s_per_ml, "r_tricuspid_mmhg_s_per_ml"},
                         {c.c_pa_ml_per_mmhg, "c_pa_ml_per_mmhg"},
                         {c.r_pa_mmhg_s_per_ml, "r_pa_mmhg_s_per_ml"},
                         {c.l_pa_mmhg_s2_per_ml, "l_pa_mmhg_s2_per_ml"},
                         {c.c_pp_ml_per_mmhg, "c_pp_ml_per_mmhg"},
                         {c.r_pp_mmhg_s_per_ml, "r_pp_mmhg_s_per_ml"},
                         {c.c_pv_ml_per_mmhg, "c_pv_ml_per_mmhg"},
                         {c.r_pv_mmhg_s_per_ml, "r_pv_mmhg_s_per_ml"},
                         {c.c_la_ml_per_mmhg, "c_la_ml_per_mmhg"},
                         {c.r_mitral_mmhg_s_per_ml, "r_mitral_mmhg_s_per_ml"},
                         {c.lv.emax0_mmhg_per_ml, "lv.emax0_mmhg_per_ml"},
                         {c.rv.emax0_mmhg_per_ml, "rv.emax0_mmhg_per_ml"},
                         {c.lv.kr_s_per_ml, "lv.kr_s_per_ml"},
                         {c.rv.kr_s_per_ml, "rv.kr_s_per_ml"},
                         {c.total_blood_volume_ml, "total_blood_volume_ml"},
                         {p.baroreflex.t0_s, "baroreflex.t0_s"}}) {
    if (auto s = Positive(v, name); !s.ok()) return s;
  }
  if (o.dt_s > 0.005) return absl::InvalidArgumentError("dt_s must be at most 0.005 s for stability");
  const double unstressed = c.vu_sa_ml + c.vu_sp_ml + c.vu_ep_ml + c.vu_sv0_ml + c.vu_ev0_ml +
                            c.vu_ra_ml + c.rv.unstressed_volume_ml + c.vu_pa_ml + c.vu_pp_ml +
                            c.vu_pv_ml + c.vu_la_ml + c.lv.unstressed_volume_ml;
  if (c.total_blood_volume_ml < 0.5 * unstressed) {
    return absl::InvalidArgumentError(absl::StrCat("total_blood_volume_ml ", c.total_blood_volume_ml,
                                                   " is below half the loop's unstressed volume"));
  }
  if (p.arrhythmia.atrial_fibrillation && !(p.arrhythmia.rr_cv >= 0.0 && p.arrhythmia.rr_cv < 1.0)) {
    return absl::InvalidArgumentError("arrhythmia.rr_cv must be in [0, 1)");
  }
  return absl::OkStatus();
}

}  // namespace

BeatSummary AverageBeats(std::span<const BeatSummary> beats) {
  BeatSummary m;
  if (beats.empty()) return m;
  m.index = beats.front().index;
  m.start_s = beats.front().start_s;
  const double n = static_cast<double>(beats.size());
  for (const BeatSummary& b : beats) {
    m.rr_s += b.rr_s / n;
    m.heart_rate_bpm += b.heart_rate_bpm / n;
    m.sbp_mmhg += b.sbp_mmhg / n;
    m.dbp_mmhg += b.dbp_mmhg / n;
    m.map_mmhg += b.map_mmhg / n;
    m.pulse_pressure_mmhg += b.pulse_pressure_mmhg / n;
    m.edv_ml += b.edv_ml / n;
    m.esv_ml += b.esv_ml / n;
    m.stroke_volume_ml += b.stroke_volume_ml / n;
    m.ejection_fraction += b.ejection_fraction / n;
    m.cardiac_output_l_per_min += b.cardiac_output_l_per_min / n;
    m.cvp_mmhg += b.cvp_mmhg / n;
    m.pcwp_mmhg += b.pcwp_mmhg / n;
    m.pa_systolic_mmhg += b.pa_systolic_mmhg / n;
    m.pa_diastolic_mmhg += b.pa_diastolic_mmhg / n;
    m.pa_mean_mmhg += b.pa_mean_mmhg / n;
    m.blood_volume_ml += b.blood_volume_ml / n;
  }
  return m;
}

struct CardiovascularEngine::Impl {
  ModelParams params;
  EngineOptions options;
  std::unique_ptr<OdeSolver> solver;
  Drive drive;
  CirculationOde ode{&params.circulation, &drive};
  std::vector<double> y = std::vector<double>(kStateCount, 0.0);
  std::int64_t step_count = 0;
  double t_s = 0.0;
  EffectorModifiers modifiers;
  bool clamped = false;
  // Reflex state: deviations from the reflex-free values, and the current set point.
  double d_emax_lv = 0.0, d_emax_rv = 0.0, d_r_sp = 0.0, d_r_ep = 0.0, d_vu_sv = 0.0, d_vu_ev = 0.0;
  double d_t_sym = 0.0, d_t_vag = 0.0;
  double set_point_mmhg = 92.0;
  DelayLine f_es_history, f_ev_history;
  // Per-step lag factors 1 - exp(-dt / tau).
  double a_emax_lv = 0, a_emax_rv = 0, a_r_sp = 0, a_r_ep = 0, a_vu_sv = 0, a_vu_ev = 0, a_t_sym = 0,
         a_t_vag = 0, a_reset = 0;
  // Beats.
  int beat_index = 0;
  BeatAccumulator acc;
  std::vector<BeatSummary> beats;
  SplitMix64 rng{0};
  // Waveforms.
  std::int64_t waveform_every_steps = 0;
  std::vector<WaveformSample> waveform;
  // External exchange.
  double exchange_remaining_ml = 0.0;
  double exchange_rate_ml_s = 0.0;
  double net_exchanged_ml = 0.0;

  void Init();
  double FiringCarotidSinus(double p_tilde) const;
  double FiringSympathetic(double f_cs) const;
  double FiringVagal(double f_cs) const;
  double SympatheticLog(double f_es) const;
  void UpdateDrive();
  void LatchBeat();
  void Step();
  void Observe();
  void CloseBeat();
  double TotalVolume() const;
};

double CardiovascularEngine::Impl::FiringCarotidSinus(double p_tilde) const {
  const BaroreflexParams& b = params.baroreflex;
  const double e = std::exp((p_tilde - set_point_mmhg) / b.ka_mmhg);
  return (b.f_min_hz + b.f_max_hz * e) / (1.0 + e);
}
double CardiovascularEngine::Impl::FiringSympathetic(double f_cs) const {
  const BaroreflexParams& b = params.baroreflex;
  return b.f_es_inf_hz + (b.f_es_0_hz - b.f_es_inf_hz) * std::exp(-b.k_es_s * f_cs);
}
double CardiovascularEngine::Impl::FiringVagal(double f_cs) const {
  const BaroreflexParams& b = params.baroreflex;
  const double e = std::exp((f_cs - b.f_cs_0_hz) / b.k_ev_hz);
  return (b.f_ev_0_hz + b.f_ev_inf_hz * e) / (1.0 + e);
}
double CardiovascularEngine::Impl::SympatheticLog(double f_es) const {
  const double x = f_es - params.baroreflex.f_es_min_hz;
  return x > 0.0 ? std::log(x + 1.0) : 0.0;
}

void CardiovascularEngine::Impl::Init() {
  const CirculationParams& c = params.circulation;
  const BaroreflexParams& b = params.baroreflex;
  const double dt = options.dt_s;
  set_point_mmhg = b.set_point_mmhg;
  rng = SplitMix64(params.arrhythmia.rr_seed);
  // Reflex effectors start at the steady state for a pressure equal to the set point.
  const double f_cs = FiringCarotidSinus(set_point_mmhg);
  const double f_es = FiringSympathetic(f_cs);
  const double f_ev = FiringVagal(f_cs);
  if (b.enabled) {
    const double ls = SympatheticLog(f_es);
    d_emax_lv = b.emax_lv.gain * ls;
    d_emax_rv = b.emax_rv.gain * ls;
    d_r_sp = b.r_sp.gain * ls;
    d_r_ep = b.r_ep.gain * ls;
    d_vu_sv = b.vu_sv.gain * ls;
    d_vu_ev = b.vu_ev.gain * ls;
    d_t_sym = b.t_sympathetic.gain * ls;
    d_t_vag = b.t_vagal.gain * f_ev;
  }
  const double max_delay = std::max({b.emax_lv.delay_s, b.emax_rv.delay_s, b.r_sp.delay_s, b.r_ep.delay_s,
                                     b.vu_sv.delay_s, b.vu_ev.delay_s, b.t_sympathetic.delay_s});
  f_es_history.Reset(max_delay, dt, f_es);
  f_ev_history.Reset(b.t_vagal.delay_s, dt, f_ev);
  auto lag = [dt](const EffectorParams& e) { return 1.0 - std::exp(-dt / e.tau_s); };
  a_emax_lv = lag(b.emax_lv);
  a_emax_rv = lag(b.emax_rv);
  a_r_sp = lag(b.r_sp);
  a_r_ep = lag(b.r_ep);
  a_vu_sv = lag(b.vu_sv);
  a_vu_ev = lag(b.vu_ev);
  a_t_sym = lag(b.t_sympathetic);
  a_t_vag = lag(b.t_vagal);
  a_reset = 1.0 - std::exp(-dt * std::numbers::ln2 / b.resetting_half_time_s);
  UpdateDrive();

  // A plausible resting distribution; whatever is left of the blood volume goes to the veins
  // in proportion to their compliance. The loop settles within a minute from here.
  y[kVsa] = c.vu_sa_ml + c.c_sa_ml_per_mmhg * 90.0;
  y[kFsa] = 85.0;
  y[kVperiph] = c.vu_sp_ml + c.vu_ep_ml + (c.c_sp_ml_per_mmhg + c.c_ep_ml_per_mmhg) * 30.0;
  y[kVra] = c.vu_ra_ml + c.c_ra_ml_per_mmhg * 4.0;
  y[kVrv] = c.rv.unstressed_volume_ml + 80.0;
  y[kVpa] = c.vu_pa_ml + c.c_pa_ml_per_mmhg * 15.0;
  y[kFpa] = 85.0;
  y[kVpp] = c.vu_pp_ml + c.c_pp_ml_per_mmhg * 12.0;
  y[kVpv] = c.vu_pv_ml + c.c_pv_ml_per_mmhg * 8.0;
  y[kVla] = c.vu_la_ml + c.c_la_ml_per_mmhg * 7.0;
  y[kVlv] = c.lv.unstressed_volume_ml + 100.0;
  double used = 0.0;
  for (std::size_t i : kVolumeIndices) {
    if (i != kVsv && i != kVev) used += y[i];
  }
  const double venous = c.total_blood_volume_ml - used;
  const double csum = c.c_sv_ml_per_mmhg + c.c_ev_ml_per_mmhg;
  const double p_v = (venous - drive.vu_sv_ml - drive.vu_ev_ml) / csum;
  y[kVsv] = drive.vu_sv_ml + c.c_sv_ml_per_mmhg * p_v;
  y[kVev] = venous - y[kVsv];
  y[kPtilde] = set_point_mmhg;

  LatchBeat();
  drive.beat_start_s = 0.0;
  if (options.waveform_sample_hz > 0.0) {
    waveform_every_steps =
        std::max<std::int64_t>(1, std::llround(1.0 / (options.waveform_sample_hz * dt)));
  }
}

void CardiovascularEngine::Impl::UpdateDrive() {
  const CirculationParams& c = params.circulation;
  const BaroreflexParams& b = params.baroreflex;
  drive.emax_lv_mmhg_per_ml = (c.lv.emax0_mmhg_per_ml + d_emax_lv) * modifiers.contractility_factor;
  drive.emax_rv_mmhg_per_ml = (c.rv.emax0_mmhg_per_ml + d_emax_rv) * modifiers.contractility_factor;
  drive.r_sp_mmhg_s_per_ml = (c.r_sp0_mmhg_s_per_ml + d_r_sp) * modifiers.systemic_resistance_factor;
  drive.r_ep_mmhg_s_per_ml = (c.r_ep0_mmhg_s_per_ml + d_r_ep) * modifiers.systemic_resistance_factor;
  const double venous_delta = modifiers.venous_unstressed_delta_ml;
  const double sv_share = c.vu_sv0_ml / (c.vu_sv0_ml + c.vu_ev0_ml);
  drive.vu_sv_ml = c.vu_sv0_ml + d_vu_sv + venous_delta * sv_share;
  drive.vu_ev_ml = c.vu_ev0_ml + d_vu_ev + venous_delta * (1.0 - sv_share);
  drive.tau_z_s = b.tau_z_s;
  drive.tau_p_s = b.tau_p_s;
  drive.external_flow_ml_s = exchange_remaining_ml != 0.0 ? exchange_rate_ml_s : 0.0;
}

// Fixes this beat's period and systole length at its start [U98: T is updated once per beat].
void CardiovascularEngine::Impl::LatchBeat() {
  const CirculationParams& c = params.circulation;
  double period = (params.baroreflex.t0_s + d_t_sym + d_t_vag) / modifiers.heart_rate_factor;
  if (params.arrhythmia.atrial_fibrillation && params.arrhythmia.rr_cv > 0.0) {
    const double sigma = std::sqrt(std::log1p(params.arrhythmia.rr_cv * params.arrhythmia.rr_cv));
    period *= std::exp(sigma * rng.StandardNormal() - 0.5 * sigma * sigma);
  }
  period = std::clamp(period, 0.25, 3.0);
  drive.beat_period_s = period;
  drive.systole_s = std::clamp(c.tsys0_s - c.ksys_s2 / period, 0.1, 0.6 * period);
}

void CardiovascularEngine::Impl::Step() {
  const double dt = options.dt_s;
  UpdateDrive();
  solver->Step(ode, t_s, dt, y);
  ++step_count;
  t_s = static_cast<double>(step_count) * dt;
  if (exchange_remaining_ml != 0.0) {
    const double moved = drive.external_flow_ml_s * dt;
    net_exchanged_ml += moved;
    exchange_remaining_ml -= moved;
    if (std::abs(exchange_remaining_ml) < 1e-9 ||
        (exchange_remaining_ml > 0) != (exchange_rate_ml_s > 0)) {
      exchange_remaining_ml = 0.0;
    } else if (std::abs(exchange_rate_ml_s * dt) > std::abs(exchange_remaining_ml)) {
      exchange_rate_ml_s = exchange_remaining_ml / dt;  // the last step moves exactly the rest
    }
  }
  Observe();

  // Reflex: firing from the filtered pressure, delayed efferents, first-order effectors.
  const BaroreflexParams& b = params.baroreflex;
  const double f_cs = FiringCarotidSinus(y[kPtilde]);
  f_es_history.Push(FiringSympathetic(f_cs));
  f_ev_history.Push(FiringVagal(f_cs));
  if (b.enabled && !clamped) {
    auto effect = [&](double& state, const EffectorParams& e, double a) {
      state += a * (e.gain * SympatheticLog(f_es_history.At(e.delay_s)) - state);
    };
    effect(d_emax_lv, b.emax_lv, a_emax_lv);
    effect(d_emax_rv, b.emax_rv, a_emax_rv);
    effect(d_r_sp, b.r_sp, a_r_sp);
    effect(d_r_ep, b.r_ep, a_r_ep);
    effect(d_vu_sv, b.vu_sv, a_vu_sv);
    effect(d_vu_ev, b.vu_ev, a_vu_ev);
    effect(d_t_sym, b.t_sympathetic, a_t_sym);
    d_t_vag += a_t_vag * (b.t_vagal.gain * f_ev_history.At(b.t_vagal.delay_s) - d_t_vag);
  }
  set_point_mmhg += a_reset * (y[kPtilde] - b.resetting_offset_mmhg - set_point_mmhg);

  if (t_s >= drive.beat_start_s + drive.beat_period_s - 1e-9) CloseBeat();
}

void CardiovascularEngine::Impl::Observe() {
  const Snapshot s = Evaluate(t_s, y, params.circulation, drive);
  acc.p_sa_max = std::max(acc.p_sa_max, s.p_sa);
  acc.p_sa_min = std::min(acc.p_sa_min, s.p_sa);
  acc.p_pa_max = std::max(acc.p_pa_max, s.p_pa);
  acc.p_pa_min = std::min(acc.p_pa_min, s.p_pa);
  acc.v_lv_max = std::max(acc.v_lv_max, y[kVlv]);
  acc.v_lv_min = std::min(acc.v_lv_min, y[kVlv]);
  acc.sum_p_sa += s.p_sa;
  acc.sum_p_pa += s.p_pa;
  acc.sum_p_ra += s.p_ra;
  acc.sum_p_la += s.p_la;
  ++acc.samples;
  if (waveform_every_steps > 0 && step_count % waveform_every_steps == 0) {
    waveform.push_back({t_s, s.p_sa, s.p_lv, s.p_la, s.p_ra, s.p_rv, s.p_pa, y[kVlv], y[kVrv],
                        s.q_aortic, s.q_mitral, s.q_pulmonary, s.q_tricuspid});
  }
}

void CardiovascularEngine::Impl::CloseBeat() {
  BeatSummary b;
  const double n = std::max(1, acc.samples);
  b.index = beat_index++;
  b.start_s = drive.beat_start_s;
  b.rr_s = drive.beat_period_s;
  b.heart_rate_bpm = 60.0 / b.rr_s;
  b.sbp_mmhg = acc.p_sa_max;
  b.dbp_mmhg = acc.p_sa_min;
  b.map_mmhg = acc.sum_p_sa / n;
  b.pulse_pressure_mmhg = b.sbp_mmhg - b.dbp_mmhg;
  b.edv_ml = acc.v_lv_max;
  b.esv_ml = acc.v_lv_min;
  b.stroke_volume_ml = b.edv_ml - b.esv_ml;
  b.ejection_fraction = b.edv_ml > 0 ? b.stroke_volume_ml / b.edv_ml : 0.0;
  b.cardiac_output_l_per_min = b.stroke_volume_ml * b.heart_rate_bpm / 1000.0;
  b.cvp_mmhg = acc.sum_p_ra / n;
  b.pcwp_mmhg = acc.sum_p_la / n;
  b.pa_systolic_mmhg = acc.p_pa_max;
  b.pa_diastolic_mmhg = acc.p_pa_min;
  b.pa_mean_mmhg = acc.sum_p_pa / n;
  b.blood_volume_ml = TotalVolume();
  beats.push_back(b);
  acc = BeatAccumulator{};
  drive.beat_start_s += drive.beat_period_s;
  LatchBeat();
}

double CardiovascularEngine::Impl::TotalVolume() const {
  double v = 0.0;
  for (std::size_t i : kVolumeIndices) v += y[i];
  return v;
}

absl::StatusOr<CardiovascularEngine> CardiovascularEngine::Create(const ModelParams& params,
                                                                  const EngineOptions& options) {
  if (auto s = Validate(params, options); !s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  impl->params = params;
  impl->options = options;
  impl->solver = MakeSolver(options.solver);
  impl->Init();
  return CardiovascularEngine(std::move(impl));
}

CardiovascularEngine::CardiovascularEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CardiovascularEngine::CardiovascularEngine(CardiovascularEngine&&) noexcept = default;
CardiovascularEngine& CardiovascularEngine::operator=(CardiovascularEngine&&) noexcept = default;
CardiovascularEngine::~CardiovascularEngine() = default;

void CardiovascularEngine::AdvanceSeconds(double seconds) {
  const auto steps = static_cast<std::int64_t>(std::ceil(seconds / impl_->options.dt_s - 1e-9));
  for (std::int64_t i = 0; i < steps; ++i) impl_->Step();
}

void CardiovascularEngine::AdvanceBeats(int beats) {
  const int target = impl_->beat_index + beats;
  while (impl_->beat_index < target) impl_->Step();
}

std::vector<BeatSummary> CardiovascularEngine::TakeBeats() { return std::exchange(impl_->beats, {}); }
std::vector<WaveformSample> CardiovascularEngine::TakeWaveform() { return std::exchange(impl_->waveform, {}); }

void CardiovascularEngine::ExchangeBlood(double volume_ml, double duration_s) {
  if (volume_ml == 0.0) return;
  const double duration = std::max(duration_s, impl_->options.dt_s);
  impl_->exchange_remaining_ml = volume_ml;
  impl_->exchange_rate_ml_s = volume_ml / duration;
}

void CardiovascularEngine::SetModifiers(const EffectorModifiers& modifiers) { impl_->modifiers = modifiers; }
void CardiovascularEngine::SetBaroreflexClamped(bool clamped) { impl_->clamped = clamped; }
const EffectorModifiers& CardiovascularEngine::modifiers() const { return impl_->modifiers; }
double CardiovascularEngine::time_s() const { return impl_->t_s; }
double CardiovascularEngine::total_blood_volume_ml() const { return impl_->TotalVolume(); }
double CardiovascularEngine::net_exchanged_volume_ml() const { return impl_->net_exchanged_ml; }
double CardiovascularEngine::baroreflex_set_point_mmhg() const { return impl_->set_point_mmhg; }
double CardiovascularEngine::reflex_heart_period_s() const {
  return impl_->params.baroreflex.t0_s + impl_->d_t_sym + impl_->d_t_vag;
}
const ModelParams& CardiovascularEngine::params() const { return impl_->params; }

BeatSummary SettleAndAverage(CardiovascularEngine& engine, double settle_s, double average_s) {
  engine.AdvanceSeconds(settle_s);
  engine.TakeBeats();
  engine.AdvanceSeconds(average_s);
  const std::vector<BeatSummary> beats = engine.TakeBeats();
  return AverageBeats(beats);
}

}  // namespace healthtwin::models
