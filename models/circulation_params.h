// Parameters of the closed-loop circulation and of the carotid baroreflex.
//
// The structure and almost every default value follow Ursino M., "Interaction between carotid
// baroregulation and the pulsating heart: a mathematical model", Am J Physiol 275:H1733-H1747
// (1998), Tables 1-3 (cited below as [U98]). Values changed from [U98] to reach the adult
// reference ranges are marked "tuned" and explained in models/README.md.
//
// Units are in the names: ml, mmhg, s; resistances in mmHg*s/ml, inertances in mmHg*s^2/ml,
// compliances in ml/mmHg, elastances in mmHg/ml.
#pragma once

namespace healthtwin::models {

// One time-varying elastance ventricle [U98 eqs. 9-14].
//   Pmax = phi(t) * Emax * (V - Vu) + (1 - phi(t)) * P0 * (exp(kE * V) - 1)
//   R_viscous = kR * Pmax; outflow (Pmax - P_out) / R_viscous when Pmax > P_out
struct VentricleParams {
  double emax0_mmhg_per_ml;       // end-systolic elastance with no sympathetic drive
  double unstressed_volume_ml;    // Vu
  double p0_mmhg;                 // EDPVR scale
  double ke_per_ml;               // EDPVR stiffness
  double kr_s_per_ml;             // viscous (ejection) resistance per mmHg of Pmax
};

struct CirculationParams {
  // Systemic arteries [U98 Table 1].
  double c_sa_ml_per_mmhg = 0.28;
  double r_sa_mmhg_s_per_ml = 0.06;
  double l_sa_mmhg_s2_per_ml = 0.22e-3;
  double vu_sa_ml = 0.0;
  // Splanchnic (sp) and extrasplanchnic (ep) peripheral beds: they share one pressure node
  // fed by the arterial inertance [U98]; resistances are the reflex-free values R0.
  double c_sp_ml_per_mmhg = 2.05;
  double c_ep_ml_per_mmhg = 1.67;
  double vu_sp_ml = 274.4;
  double vu_ep_ml = 336.6;
  double r_sp0_mmhg_s_per_ml = 2.49;   // [U98 Table 3] R_sp,0
  double r_ep0_mmhg_s_per_ml = 0.78;   // [U98 Table 3] R_ep,0
  // Systemic veins; unstressed volumes are the reflex-free values Vu0 [U98 Table 3].
  double c_sv_ml_per_mmhg = 61.11;
  double c_ev_ml_per_mmhg = 50.0;
  double r_sv_mmhg_s_per_ml = 0.038;
  double r_ev_mmhg_s_per_ml = 0.016;
  double vu_sv0_ml = 1435.4;
  double vu_ev0_ml = 1537.0;
  // Right atrium (passive) and tricuspid valve resistance [U98 Table 1].
  double c_ra_ml_per_mmhg = 31.25;
  double r_tricuspid_mmhg_s_per_ml = 2.5e-3;
  double vu_ra_ml = 25.0;
  // Right ventricle [U98 Table 1; Emax0 from Table 3].
  VentricleParams rv = {1.412, 40.8, 1.5, 0.011, 1.4e-3};
  // Pulmonary arteries, peripheral bed and veins [U98 Table 1].
  double c_pa_ml_per_mmhg = 0.76;
  double r_pa_mmhg_s_per_ml = 0.023;
  double l_pa_mmhg_s2_per_ml = 0.18e-3;
  double vu_pa_ml = 0.0;
  double c_pp_ml_per_mmhg = 5.8;
  double r_pp_mmhg_s_per_ml = 0.0894;
  double vu_pp_ml = 123.0;
  double c_pv_ml_per_mmhg = 25.37;
  double r_pv_mmhg_s_per_ml = 0.0056;
  double vu_pv_ml = 120.0;
  // Left atrium (passive) and mitral valve resistance [U98 Table 1].
  double c_la_ml_per_mmhg = 19.23;
  double r_mitral_mmhg_s_per_ml = 2.5e-3;
  double vu_la_ml = 25.0;
  // Left ventricle [U98 Table 1; Emax0 from Table 3].
  VentricleParams lv = {2.392, 16.77, 1.5, 0.014, 3.75e-4};
  // Systole duration T_sys = tsys0 - ksys / T [U98 eq. 16].
  double tsys0_s = 0.5;
  double ksys_s2 = 0.075;
  // Total blood volume [U98]; the standard adult uses 5300 ml.
  double total_blood_volume_ml = 5300.0;
};

// Carotid baroreflex [U98 Table 2 and 3]. One effector: sigma = G * ln(f_es(t - D) - f_es,min + 1)
// (or G * f_ev(t - D) for the vagal heart-period branch), low-passed with time constant tau.
struct EffectorParams {
  double gain;
  double tau_s;
  double delay_s;
};

struct BaroreflexParams {
  bool enabled = true;
  // Afferent: P~ follows P_sa through a lead-lag (tau_z, tau_p); firing f_cs is a sigmoid.
  double set_point_mmhg = 92.0;   // P_n
  double ka_mmhg = 11.758;
  double f_min_hz = 2.52;
  double f_max_hz = 47.78;
  double tau_z_s = 6.37;
  double tau_p_s = 2.076;
  // Efferent sympathetic and vagal firing.
  double f_es_inf_hz = 2.10;
  double f_es_0_hz = 16.11;
  double f_es_min_hz = 2.66;
  double k_es_s = 0.0675;
  double f_ev_0_hz = 3.2;
  double f_ev_inf_hz = 6.3;
  double f_cs_0_hz = 25.0;
  double k_ev_hz = 7.06;
  // Effectors: gains in the unit of the controlled quantity per unit of ln(spikes/s)
  // (mmHg/ml, mmHg*s/ml, ml, s), time constants and pure delays in s.
  EffectorParams emax_lv = {0.475, 8.0, 2.0};
  EffectorParams emax_rv = {0.282, 8.0, 2.0};
  EffectorParams r_sp = {0.695, 6.0, 2.0};
  EffectorParams r_ep = {0.53, 6.0, 2.0};
  EffectorParams vu_sv = {-265.4, 20.0, 5.0};
  EffectorParams vu_ev = {-132.5, 20.0, 5.0};
  EffectorParams t_sympathetic = {-0.13, 2.0, 2.0};
  EffectorParams t_vagal = {0.09, 1.5, 0.2};
  double t0_s = 0.58;   // heart period with no autonomic drive
  // Set-point resetting toward the prevailing pressure: first order with a half-time of 11 h,
  // i.e. ~95 % complete in 2 days (Guyton & Hall, Textbook of Medical Physiology, ch. 18:
  // baroreceptors "reset in 1 to 2 days"; Krieger 1970: 26 % of the shift after 6 h in rats).
  double resetting_half_time_s = 11.0 * 3600.0;
  // P_n resets toward P~ minus this offset. 0 is the law above; the long-horizon layer resets
  // toward its resting operating point, i.e. uses (resting MAP - resting P_n), so that a patient
  // at rest is also at rest over days (models/README.md, "Long-horizon layer").
  double resetting_offset_mmhg = 0.0;
};

// Atrial fibrillation: no atrial kick (the atria here are passive anyway) and beat-to-beat
// RR intervals drawn log-normally around the reflex heart period.
struct ArrhythmiaParams {
  bool atrial_fibrillation = false;
  // Coefficient of variation of RR in AF, typically 0.15-0.30 (Tateno & Glass, Med Biol Eng
  // Comput 2001, RR irregularity in AF vs sinus rhythm).
  double rr_cv = 0.2;
  unsigned long long rr_seed = 0x5eed;
};

}  // namespace healthtwin::models

namespace healthtwin::models {

// Everything the beat-resolved engine needs to describe one person.
struct ModelParams {
  CirculationParams circulation;
  BaroreflexParams baroreflex;
  ArrhythmiaParams arrhythmia;
};

}  // namespace healthtwin::models
