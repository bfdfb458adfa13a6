// Per-beat haemodynamic summary and waveform samples produced by CardiovascularEngine.
#pragma once

#include <span>

namespace healthtwin::models {

// One cardiac cycle, from the start of one ventricular activation to the next.
// Pressures are maxima/minima/time-means over the cycle of the compartment pressures.
struct BeatSummary {
  int index = 0;
  double start_s = 0.0;
  double rr_s = 0.0;
  double heart_rate_bpm = 0.0;
  double sbp_mmhg = 0.0;            // systemic arterial max
  double dbp_mmhg = 0.0;            // systemic arterial min
  double map_mmhg = 0.0;            // systemic arterial time mean
  double pulse_pressure_mmhg = 0.0;
  double edv_ml = 0.0;              // LV max volume
  double esv_ml = 0.0;              // LV min volume
  double stroke_volume_ml = 0.0;    // EDV - ESV (valves do not leak)
  double ejection_fraction = 0.0;
  double cardiac_output_l_per_min = 0.0;
  double cvp_mmhg = 0.0;            // mean right atrial pressure
  double pcwp_mmhg = 0.0;           // mean left atrial pressure, the quantity the wedge estimates
  double pa_systolic_mmhg = 0.0;
  double pa_diastolic_mmhg = 0.0;
  double pa_mean_mmhg = 0.0;
  double blood_volume_ml = 0.0;     // total, at the end of the beat
};

// Mean of each field over the beats (index/start_s come from the first beat).
BeatSummary AverageBeats(std::span<const BeatSummary> beats);

// Instantaneous state, sampled at the rate chosen in EngineOptions::waveform_sample_hz.
struct WaveformSample {
  double t_s = 0.0;
  double p_sa_mmhg = 0.0;
  double p_lv_mmhg = 0.0;
  double p_la_mmhg = 0.0;
  double p_ra_mmhg = 0.0;
  double p_rv_mmhg = 0.0;
  double p_pa_mmhg = 0.0;
  double v_lv_ml = 0.0;
  double v_rv_ml = 0.0;
  double q_aortic_ml_s = 0.0;
  double q_mitral_ml_s = 0.0;
  double q_pulmonary_ml_s = 0.0;
  double q_tricuspid_ml_s = 0.0;
};

}  // namespace healthtwin::models
