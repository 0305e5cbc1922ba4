/*
 * squares.c - the design document's chapter-1 program on the reference runtime:
 * 1000 Gs each square their id and send it on a buffered channel; the main G sums the
 * 1000 results.  Prints 332833500 (= sum of i^2 for i < 1000).
 * GOMAXPROCS comes from MN_GOMAXPROCS (default: CPUs in the affinity mask).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mn.h"

#define N 1000

static struct mn_chan *results;

static void square(void *arg)
{
    int64_t id = (int64_t)(intptr_t)arg;
    int64_t v = id * id;
    if (mn_chan_send(results, &v) != 0)
        mn_goexit();
}

static int main_g(void *arg)
{
    (void)arg;
    for (intptr_t i = 0; i < N; i++)
        if (mn_go(square, (void *)i) != 0)
            return 1;
    int64_t sum = 0;
    for (int i = 0; i < N; i++) {
        int64_t v;
        bool ok;
        if (mn_chan_recv(results, &v, &ok) != 0 || !ok)
            return 1;
        sum += v;
    }
    printf("%lld\n", (long long)sum);
    return 0;
}

int main(void)
{
    int rc;
    if ((rc = mn_init(NULL)) != 0) {
        fprintf(stderr, "squares: mn_init: %s\n", strerror(-rc));
        return 1;
    }
    if ((rc = mn_chan_make(&results, sizeof(int64_t), 100)) != 0) {
        fprintf(stderr, "squares: mn_chan_make: %s\n", strerror(-rc));
        return 1;
    }
    rc = mn_run(main_g, NULL);
    if (rc < 0)
        fprintf(stderr, "squares: mn_run: %s\n", strerror(-rc));
    else if (rc > 0)
        fprintf(stderr, "squares: a G could not be started or a receive failed\n");
    if (mn_chan_free(results) != 0)
        fprintf(stderr, "squares: channel still in use\n");
    (void)mn_fini();
    return rc < 0 ? 1 : rc;
}
