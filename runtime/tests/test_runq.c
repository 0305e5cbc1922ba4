/*
 * test_runq.c - P's local run queue (Go's runq tests in proc_test.go / export_test.go):
 * FIFO fill and drain of the 256 slots, runnext precedence, steal-half with every G seen
 * exactly once (also under a concurrent thief), and the layout facts of claims L2.1.runq,
 * L2.1.headtail and L2.1.fourlines.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "mn_export.h"
#include "testutil.h"

static const int pads[] = {0, 64, 128};

Test(runq, fill_drain_fifo_L2_1_runq)
{
    for (int k = 0; k < 3; k++) {
        struct mn_p *pp = mn_x_p_new(pads[k]);
        struct mn_g *gs = mn_x_fake_gs(MN_RUNQ_SLOTS + 1);
        for (int round = 0; round < 3; round++) { /* wrap around the ring */
            for (int i = 0; i < MN_RUNQ_SLOTS; i++)
                cr_assert(mn_x_runqput(pp, mn_x_fake_g(gs, (size_t)i), false));
            cr_assert_eq(mn_x_runqlen(pp), MN_RUNQ_SLOTS);
            cr_assert_not(mn_x_runqput(pp, mn_x_fake_g(gs, MN_RUNQ_SLOTS), false),
                          "a 257th G must not fit");
            for (int i = 0; i < MN_RUNQ_SLOTS; i++) {
                struct mn_g *g = mn_x_runqget(pp);
                cr_assert_eq(mn_x_g_id(g), (uint64_t)i + 1, "pad %d: FIFO order", pads[k]);
            }
            cr_assert_null(mn_x_runqget(pp));
        }
        free(gs);
        mn_x_p_free(pp);
    }
}

Test(runq, runnext_precedence)
{
    struct mn_p *pp = mn_x_p_new(0);
    struct mn_g *gs = mn_x_fake_gs(5);
    cr_assert(mn_x_runqput(pp, mn_x_fake_g(gs, 0), false)); /* G1 */
    cr_assert(mn_x_runqput(pp, mn_x_fake_g(gs, 1), false)); /* G2 */
    cr_assert(mn_x_runqput(pp, mn_x_fake_g(gs, 2), true));  /* G3 in runnext */
    cr_assert(mn_x_runqput(pp, mn_x_fake_g(gs, 3), true));  /* G4 kicks G3 to the tail */
    uint64_t want[] = {4, 1, 2, 3};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(mn_x_g_id(mn_x_runqget(pp)), want[i], "position %d", i);
    cr_assert_null(mn_x_runqget(pp));
    free(gs);
    mn_x_p_free(pp);
}

Test(runq, steal_half_each_g_once)
{
    for (int n = 1; n <= MN_RUNQ_SLOTS; n = n * 2 + 1) {
        struct mn_p *src = mn_x_p_new(64), *dst = mn_x_p_new(64);
        struct mn_g *gs = mn_x_fake_gs((size_t)n);
        for (int i = 0; i < n; i++)
            cr_assert(mn_x_runqput(src, mn_x_fake_g(gs, (size_t)i), false));
        char *seen = calloc((size_t)n + 1, 1);
        struct mn_g *g = mn_x_runqsteal(dst, src, false);
        cr_assert_not_null(g);
        int stolen = 1 + (int)mn_x_runqlen(dst);
        cr_assert_eq(stolen, n - n / 2, "n=%d: thief takes half, rounded up", n);
        seen[mn_x_g_id(g)]++;
        while ((g = mn_x_runqget(dst)))
            seen[mn_x_g_id(g)]++;
        while ((g = mn_x_runqget(src)))
            seen[mn_x_g_id(g)]++;
        for (int i = 1; i <= n; i++)
            cr_assert_eq(seen[i], 1, "n=%d: G %d seen %d times", n, i, seen[i]);
        free(seen);
        free(gs);
        mn_x_p_free(src);
        mn_x_p_free(dst);
    }
}

Test(runq, steal_runnext_only_when_asked)
{
    struct mn_p *src = mn_x_p_new(0), *dst = mn_x_p_new(0);
    struct mn_g *gs = mn_x_fake_gs(1);
    cr_assert(mn_x_runqput(src, gs, true));
    cr_assert_null(mn_x_runqsteal(dst, src, false));
    cr_assert_eq(mn_x_g_id(mn_x_runqsteal(dst, src, true)), 1);
    cr_assert_null(mn_x_runqget(src));
    free(gs);
    mn_x_p_free(src);
    mn_x_p_free(dst);
}

/* Concurrent: the owner keeps putting and getting while a thief steals; every G id must
 * come out exactly once. */
#define NCONC 200000
static struct mn_p *csrc;
static atomic_int cdone;
static unsigned char *cseen;

static void *thief(void *arg)
{
    (void)arg;
    struct mn_p *mine = mn_x_p_new(0);
    while (!atomic_load(&cdone)) {
        struct mn_g *g = mn_x_runqsteal(mine, csrc, true);
        if (!g)
            continue;
        cseen[mn_x_g_id(g)]++;
        while ((g = mn_x_runqget(mine)))
            cseen[mn_x_g_id(g)]++;
    }
    mn_x_p_free(mine);
    return NULL;
}

Test(runq, concurrent_steal_each_g_once, .timeout = 60)
{
    for (int k = 0; k < 3; k++) {
        csrc = mn_x_p_new(pads[k]);
        struct mn_g *gs = mn_x_fake_gs(NCONC);
        cseen = calloc(NCONC + 1, 1);
        atomic_store(&cdone, 0);
        pthread_t t;
        pthread_create(&t, NULL, thief, NULL);
        unsigned char *own = calloc(NCONC + 1, 1);
        for (int i = 0; i < NCONC; i++) {
            while (!mn_x_runqput(csrc, mn_x_fake_g(gs, (size_t)i), (i % 7) == 0)) {
                struct mn_g *g = mn_x_runqget(csrc);
                if (g)
                    own[mn_x_g_id(g)]++;
            }
            if (i % 3 == 0) {
                struct mn_g *g = mn_x_runqget(csrc);
                if (g)
                    own[mn_x_g_id(g)]++;
            }
        }
        struct mn_g *g;
        while ((g = mn_x_runqget(csrc)))
            own[mn_x_g_id(g)]++;
        atomic_store(&cdone, 1);
        pthread_join(t, NULL);
        for (int i = 1; i <= NCONC; i++)
            cr_assert_eq(own[i] + cseen[i], 1, "pad %d: G %d seen %d+%d times", pads[k], i, own[i],
                         cseen[i]);
        free(own);
        free(cseen);
        free(gs);
        mn_x_p_free(csrc);
    }
}

Test(layout, L2_1_fourlines_and_headtail)
{
    struct mn_x_layout l;
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(mn_x_p_layout(pads[k], &l), 0);
        cr_assert_eq(l.runq_slots, 256);
        cr_assert_eq(l.runq_bytes, 2048, "256 x 8-byte slots");
        /* 2048 bytes are 32 lines when line-aligned (padded layouts); Go's packed layout
         * starts the ring 8 bytes into a line, so it touches 33 */
        cr_assert_eq(l.runq_lines, pads[k] ? 32u : 33u, "pad %d: %zu lines", pads[k], l.runq_lines);
        cr_assert_eq(l.headtail_same_line, pads[k] == 0, "pad %d", pads[k]);
        if (pads[k])
            cr_assert_geq(l.off_runqtail - l.off_runqhead, (size_t)pads[k]);
        cr_assert_gt(l.off_runnext, l.off_runq);
    }
    cr_assert_eq(mn_x_p_layout(32, &l), -EINVAL);
}
