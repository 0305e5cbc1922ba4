/*
 * runtime.c - the harness's one way to start and stop the runtime for a bench: a bench
 * builds its struct mn_config and calls bench_run_runtime (bench.h) instead of its own
 * mn_init / mn_run / mn_fini block, so every bench fails the same way.
 */
#include "bench.h"
#include "mn.h"

int bench_run_runtime(struct bench_state *st, const struct mn_config *cfg, int (*main_fn)(void *),
                      void *arg)
{
    int rc = mn_init(cfg);
    if (rc < 0) {
        bench_skip_errno(st, "mn_init", rc);
        return rc;
    }
    int r = mn_run(main_fn, arg);
    int fin = mn_fini();
    if (r < 0) {
        bench_skip_errno(st, "mn_run", r);
        return r;
    }
    if (fin < 0) {
        bench_skip_errno(st, "mn_fini", fin);
        return fin;
    }
    return r;
}
