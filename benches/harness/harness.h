/*
 * harness.h - internals shared by the harness's own files (gbench.cc, papi.c, sysinfo.c).
 * Bench files include bench.h only.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stddef.h>

#include "bench.h" /* bench_pmu_present, bench_now_ns */

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Event counters (papi.c) ========================================================= */

#define BENCH_CTR_MAX 16

/* The default event list: hardware events through PAPI presets where a PMU exists (L1D
 * accesses and loads give T3.l1hit / T6.l1d their hit-rate denominator; the CPU offers
 * one or the other or neither, and the missing ones are dropped with the reason), and
 * perf software events that work on any Linux host. */
#define BENCH_CTR_DEFAULT                                                                          \
    "PAPI_TOT_CYC,PAPI_TOT_INS,PAPI_L1_DCM,PAPI_L1_DCA,PAPI_LD_INS,PAPI_TLB_DM,"                   \
    "perf::CONTEXT-SWITCHES,perf::CPU-MIGRATIONS,perf::PAGE-FAULTS"

/* bench_ctr_setup - resolve the comma-separated event list (NULL: BENCH_CTR_DEFAULT,
 * "" or "none": no events).  Each event is tried through PAPI, and perf:: software events
 * fall back to perf_event_open(2) directly when PAPI's perf_event component is disabled
 * (as on a host without a PMU, where libpfm4 finds no default PMU).  Events that cannot
 * be counted are dropped; their reasons are collected for bench_ctr_na_json.  Returns the
 * number of usable events, or -EINVAL when the list is malformed (empty item, > 16). */
int bench_ctr_setup(const char *list);

int bench_ctr_count(void);             /* usable events */
const char *bench_ctr_name(int i);     /* name of usable event i, as requested */
const char *bench_ctr_names_csv(void); /* usable events, comma separated */
const char *bench_ctr_na_json(void);   /* {"EVENT": "reason", ...} for the dropped ones */
const char *bench_ctr_backend(void);   /* which backend counts what, one line */
const char *bench_papi_version(void);  /* "7.0.0.0", or "n/a: <reason>" */

/* bench_ctr_start - open and enable the events on every thread of this process (one set
 * per thread in /proc/self/task, inherited by threads created later).  Cheap to call
 * when no events are configured. */
void bench_ctr_start(void);

/* bench_ctr_stop - disable, read and close; vals[i] = total of event i over all threads,
 * scaled by time_enabled / time_running when the kernel multiplexed it.  A value is -1
 * when it was not read from every thread (open failed on some, thread cap reached, read
 * failed): never a partial sum; bench_ctr_row_na_json then gives the reason. */
void bench_ctr_stop(double vals[BENCH_CTR_MAX]);

/* bench_ctr_row_na_json - {"EVENT": "reason", ...} for the events the last
 * bench_ctr_start/stop pair withheld, e.g. "not opened on 2 of 3 threads (...)" or
 * "thread cap reached (...)"; "{}" when all were read.  Escaped JSON with ';' written as
 * \u003b, so it can sit in a ';'-separated row label. */
const char *bench_ctr_row_na_json(void);

/* bench_ctr_running_share - for the last start/stop pair, the smallest share of its
 * enabled time an event opened with perf_event_open held a counter (running/enabled,
 * summed over threads); below 1 the kernel multiplexed the events and their values were
 * scaled up by enabled/running.  1 when nothing was multiplexed. */
double bench_ctr_running_share(void);

/* ==== Host description (sysinfo.c) ==================================================== */

/* bench_sysinfo - call add(key, value) for each host context key of FORMAT.md: host,
 * cpu_model, cores, smt, numa_nodes, slit, kernel, governor, thp, perf_event_paranoid, pmu.
 * Values that cannot be read are "n/a: <reason>". */
void bench_sysinfo(void (*add)(const char *key, const char *value));

#ifdef __cplusplus
}
#endif
#endif /* BENCH_HARNESS_H */
