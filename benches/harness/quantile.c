/*
 * quantile.c - the harness's one quantile estimator for latency histograms
 * (bench_hist_quantile, bench.h), used by every bench that reports lat_p50_ns / lat_p99_ns.
 */
#include "bench.h"

double bench_hist_quantile(const uint64_t *bins, int nbins, double (*lo)(int i), uint64_t n,
                           double q)
{
    if (n == 0)
        return 0;
    double target = q * (double)n, cum = 0;
    for (int i = 0; i < nbins; i++) {
        if (bins[i] == 0)
            continue;
        if (cum + (double)bins[i] >= target) {
            double a = lo(i), frac = (target - cum) / (double)bins[i];
            return a + frac * (lo(i + 1) - a);
        }
        cum += (double)bins[i];
    }
    return lo(nbins);
}
