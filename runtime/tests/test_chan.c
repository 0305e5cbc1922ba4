/*
 * test_chan.c - channel semantics (Go's chan.go behaviour): FIFO order, buffered capacity
 * respected, close wakes every receiver and sender, send on a closed channel fails,
 * receive on a closed channel drains then reports ok=false; the document's chapter-1
 * example; 100k Gs passing a token down a chain of channels.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ---- FIFO and capacity -------------------------------------------------------------- */

static struct mn_chan *ch;
static atomic_int sent;

static void sender_n(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 1; i <= n; i++) {
        G_ASSERT(mn_chan_send(ch, &i) == 0);
        atomic_fetch_add(&sent, 1);
    }
}

static int fifo_main(void *arg)
{
    size_t cap = (size_t)(intptr_t)arg;
    G_ASSERT(mn_chan_make(&ch, sizeof(int), cap) == 0);
    atomic_store(&sent, 0);
    G_ASSERT(mn_go(sender_n, (void *)(intptr_t)1000) == 0);
    for (int i = 0; i < 200; i++)
        mn_gosched();
    /* the sender runs until the buffer is full (cap sends done, plus the one it is
     * blocked in, which does not count) */
    G_ASSERT(atomic_load(&sent) == (int)cap, "cap %zu: sender must block when full", cap);
    G_ASSERT(mn_chan_len(ch) == cap);
    for (int i = 1; i <= 1000; i++) {
        int v;
        bool ok;
        G_ASSERT(mn_chan_recv(ch, &v, &ok) == 0);
        G_ASSERT(ok);
        G_ASSERT(v == i, "cap %zu: FIFO order", cap);
    }
    G_ASSERT(mn_chan_free(ch) == 0);
    return 0;
}

Test(chan, fifo_and_capacity)
{
    size_t caps[] = {0, 1, 16, 256};
    for (int p = 1; p <= 2; p++)
        for (int k = 0; k < 4; k++) {
            struct mn_config c = cfg_procs(p);
            if (p == 2 && k > 0)
                continue; /* capacity check needs the sender on our P to be deterministic */
            run_cfg(&c, fifo_main, (void *)(intptr_t)caps[k]);
        }
}

/* ---- close -------------------------------------------------------------------------- */

static atomic_int woke_closed;
static struct mn_wg wg;

static void receiver(void *arg)
{
    (void)arg;
    int v = 42;
    bool ok = true;
    G_ASSERT(mn_chan_recv(ch, &v, &ok) == 0);
    if (!ok && v == 0)
        atomic_fetch_add(&woke_closed, 1);
    mn_wg_done(&wg);
}

static atomic_int send_epipe;
static void blocked_sender(void *arg)
{
    (void)arg;
    int v = 1;
    if (mn_chan_send(ch, &v) == -EPIPE)
        atomic_fetch_add(&send_epipe, 1);
    mn_wg_done(&wg);
}

static int close_main(void *arg)
{
    (void)arg;
    G_ASSERT(mn_chan_make(&ch, sizeof(int), 0) == 0);
    mn_wg_init(&wg);
    atomic_store(&woke_closed, 0);
    mn_wg_add(&wg, 10);
    for (int i = 0; i < 10; i++)
        G_ASSERT(mn_go(receiver, NULL) == 0);
    for (int i = 0; i < 100; i++)
        mn_gosched();
    G_ASSERT(mn_chan_close(ch) == 0);
    G_ASSERT(mn_wg_wait(&wg) == 0);
    G_ASSERT(atomic_load(&woke_closed) == 10, "close must wake every receiver with ok=false");
    int v = 7;
    G_ASSERT(mn_chan_send(ch, &v) == -EPIPE, "send on a closed channel");
    G_ASSERT(mn_chan_close(ch) == -EPIPE, "close of a closed channel");
    G_ASSERT(mn_chan_free(ch) == 0);

    /* blocked senders are woken with -EPIPE */
    G_ASSERT(mn_chan_make(&ch, sizeof(int), 0) == 0);
    atomic_store(&send_epipe, 0);
    mn_wg_add(&wg, 5);
    for (int i = 0; i < 5; i++)
        G_ASSERT(mn_go(blocked_sender, NULL) == 0);
    for (int i = 0; i < 100; i++)
        mn_gosched();
    G_ASSERT(mn_chan_free(ch) == -EBUSY, "Gs wait on it");
    G_ASSERT(mn_chan_close(ch) == 0);
    G_ASSERT(mn_wg_wait(&wg) == 0);
    G_ASSERT(atomic_load(&send_epipe) == 5);
    G_ASSERT(mn_chan_free(ch) == 0);

    /* a closed buffered channel drains first */
    G_ASSERT(mn_chan_make(&ch, sizeof(int), 4) == 0);
    for (int i = 1; i <= 3; i++)
        G_ASSERT(mn_chan_send(ch, &i) == 0);
    G_ASSERT(mn_chan_close(ch) == 0);
    for (int i = 1; i <= 3; i++) {
        bool ok;
        G_ASSERT(mn_chan_recv(ch, &v, &ok) == 0);
        G_ASSERT(ok);
        G_ASSERT(v == i);
    }
    bool ok = true;
    G_ASSERT(mn_chan_recv(ch, &v, &ok) == 0);
    G_ASSERT(!ok);
    G_ASSERT(v == 0);
    G_ASSERT(mn_chan_free(ch) == 0);
    return 0;
}

Test(chan, close_semantics)
{
    for (int p = 1; p <= 2; p++) {
        struct mn_config c = cfg_procs(p);
        run_cfg(&c, close_main, NULL);
    }
}

Test(chan, errors)
{
    struct mn_chan *c;
    cr_assert_eq(mn_chan_make(&c, 0, 1), -EINVAL);
    cr_assert_eq(mn_chan_make(&c, 8, 1), 0);
    int v = 1;
    cr_assert_eq(mn_chan_send(c, &v), -EPERM, "not on a G");
    cr_assert_eq(mn_chan_recv(c, &v, NULL), -EPERM);
    cr_assert_eq(mn_chan_free(c), 0);
}

/* ---- element sizes: the inline fast paths (4, 8 bytes) and memcpy (others) ------------ */

struct elem_case {
    size_t size, cap;
};
static struct elem_case ecase;

static void elem_sender(void *arg)
{
    (void)arg;
    unsigned char buf[40];
    for (int i = 0; i < 300; i++) {
        memset(buf, i & 0xff, sizeof buf);
        G_ASSERT(mn_chan_send(ch, buf) == 0);
    }
    G_ASSERT(mn_chan_close(ch) == 0);
}

static int elem_main(void *arg)
{
    (void)arg;
    G_ASSERT(mn_chan_make(&ch, ecase.size, ecase.cap) == 0);
    G_ASSERT(mn_go(elem_sender, NULL) == 0);
    unsigned char buf[40];
    bool ok;
    for (int i = 0; i < 300; i++) {
        if (i % 3 == 2) {
            G_ASSERT(mn_chan_recv(ch, NULL, &ok) == 0); /* value dropped */
        } else {
            memset(buf, 0xee, sizeof buf);
            G_ASSERT(mn_chan_recv(ch, buf, i % 3 ? NULL : &ok) == 0);
            for (size_t k = 0; k < sizeof buf; k++)
                G_ASSERT(buf[k] == (k < ecase.size ? (i & 0xff) : 0xee),
                         "size %zu cap %zu: element %d byte %zu", ecase.size, ecase.cap, i, k);
        }
        G_ASSERT(i % 3 == 1 || ok);
        if (i % 7 == 0)
            mn_gosched();
    }
    memset(buf, 0xee, sizeof buf);
    ok = true;
    G_ASSERT(mn_chan_recv(ch, buf, &ok) == 0);
    G_ASSERT(!ok && buf[0] == 0 && buf[ecase.size - 1] == 0 && buf[ecase.size] == 0xee,
             "closed: zero value of elemsize bytes");
    G_ASSERT(mn_chan_free(ch) == 0);
    return 0;
}

Test(chan, element_sizes)
{
    size_t sizes[] = {1, 4, 8, 12, 24};
    size_t caps[] = {0, 1, 5};
    for (int p = 1; p <= 2; p++)
        for (int i = 0; i < 5; i++)
            for (int k = 0; k < 3; k++) {
                struct mn_config c = cfg_procs(p);
                ecase = (struct elem_case){sizes[i], caps[k]};
                run_cfg(&c, elem_main, NULL);
            }
}

/* ---- chain of 100k Gs ------------------------------------------------------------------ */

#ifdef MN_SAN /* TSan counts each G's fiber as a thread and dies past 8128 live ones;              \
                  ASan's 16x stacks make a million live Gs take minutes */
#define CHAIN 4000
#else
#define CHAIN 100000
#endif
static struct mn_chan **links;

static void link_g(void *arg)
{
    intptr_t i = (intptr_t)arg;
    int64_t v;
    bool ok;
    G_ASSERT(mn_chan_recv(links[i], &v, &ok) == 0);
    v += i;
    G_ASSERT(mn_chan_send(links[i + 1], &v) == 0);
}

static int chain_main(void *arg)
{
    (void)arg;
    links = calloc(CHAIN + 1, sizeof *links);
    for (int i = 0; i <= CHAIN; i++)
        G_ASSERT(mn_chan_make(&links[i], sizeof(int64_t), i % 2) == 0);
    for (intptr_t i = 0; i < CHAIN; i++)
        G_ASSERT(mn_go(link_g, (void *)i) == 0);
    int64_t v = 0;
    G_ASSERT(mn_chan_send(links[0], &v) == 0);
    bool ok;
    G_ASSERT(mn_chan_recv(links[CHAIN], &v, &ok) == 0);
    G_ASSERT(v == (int64_t)CHAIN * (CHAIN - 1) / 2, "checksum");
    for (int i = 0; i <= CHAIN; i++)
        G_ASSERT(mn_chan_free(links[i]) == 0);
    free(links);
    return 0;
}

Test(chan, token_chain_100k, .timeout = 120)
{
    for (int p = 1; p <= 2; p++) {
        struct mn_config c = cfg_procs(p);
        c.small_stacks = p == 2; /* both stack modes */
        run_cfg(&c, chain_main, NULL);
    }
}
