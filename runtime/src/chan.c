/*
 * chan.c - channels (after Go's runtime/chan.go): a ring buffer of cap elements of
 * elem_bytes each, and FIFO queues of waiting senders and receivers (sudogs living on
 * the waiting Gs' stacks).  A sender that finds a waiting receiver copies straight into
 * the receiver's variable and readies it (Go's send/recv direct handoff); an unbuffered
 * channel works only that way.
 *
 * Locking: one spin lock per channel, held for the copy and queue manipulation only.
 * A G that blocks enqueues its sudog under the lock and parks; mn_gopark releases the
 * lock on g0 after the G's context is saved, so a waker never sees a half-parked G.
 * Wakers copy, set sudog.success and take sg->g under the lock, and call mn_goready only
 * after dropping it: from then on the sudog (on the woken G's stack) is not touched.
 *
 * Fast paths: mn_chan_send and mn_chan_recv handle an uncontended lock on an
 * open channel of 4- or 8-byte elements (c->slow clear) themselves - hand-off, buffer, or
 * park - and pass everything else to send_locked / recv_locked by a tail call.  No call
 * but the last one is made on them, so they push no callee-saved register and, but for
 * the park, need no stack frame: 435 -> 405 instructions per unbuffered round trip on
 * 1 P (make bench-instructions).
 *
 * Invariants, whenever c->lock is free (as chan.go states them; there is no select here,
 * so its exception does not arise).  chan_check asserts them at every lock acquisition in
 * builds with -DMN_DEBUG=1 (the sanitizer builds, make test-asan):
 *   - at least one of c->sendq and c->recvq is empty;
 *   - qcount <= cap, and for a buffered channel:
 *       qcount > 0 implies recvq is empty (a receiver would have taken an element),
 *       qcount < cap implies sendq is empty (a sender would have filled the slot);
 *   - sendx and recvx are below cap (0 when unbuffered), and recvx + qcount == sendx
 *     modulo cap;
 *   - a closed channel has no waiting sender (close wakes them all with -EPIPE);
 *   - slow is set exactly when the channel is closed or its elements are not 4 or 8 bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime2.h"

struct mn_chan {
    uint32_t lock;
    uint32_t closed;
    uint32_t slow; /* closed, or elemsize not 4 or 8: the fast paths defer to *_locked */
    size_t elemsize;
    size_t cap;
    size_t qcount; /* elements in buf */
    size_t sendx;  /* next slot to fill */
    size_t recvx;  /* next slot to take */
    struct mn_sudog *recvq, *recvq_tail;
    struct mn_sudog *sendq, *sendq_tail;
    char *buf;
};

#if MN_DEBUG
static void chan_check(const struct mn_chan *c)
{
    mn_assert(!c->sendq || !c->recvq);
    mn_assert(c->qcount <= c->cap);
    mn_assert(c->cap == 0 || c->qcount == 0 || !c->recvq);
    mn_assert(c->cap == 0 || c->qcount == c->cap || !c->sendq);
    if (c->cap == 0)
        mn_assert(c->sendx == 0 && c->recvx == 0);
    else
        mn_assert(c->sendx < c->cap && c->recvx < c->cap &&
                  (c->recvx + c->qcount) % c->cap == c->sendx);
    mn_assert(!c->closed || !c->sendq);
    mn_assert(c->slow == (c->closed || !(c->elemsize == 4 || c->elemsize == 8)));
}
#else
#define chan_check(c) ((void)0)
#endif

static void enqueue(struct mn_sudog **head, struct mn_sudog **tail, struct mn_sudog *sg)
{
    sg->next = NULL;
    if (*tail)
        (*tail)->next = sg;
    else
        *head = sg;
    *tail = sg;
}

static struct mn_sudog *dequeue(struct mn_sudog **head, struct mn_sudog **tail)
{
    struct mn_sudog *sg = *head;
    if (sg) {
        *head = sg->next;
        if (!*head)
            *tail = NULL;
    }
    return sg;
}

/* elemcopy - memcpy of one element; the common word-sized ones inline (libc's memcpy is
 * an out-of-line call of ~20 instructions for 8 bytes). */
static inline void elemcopy(void *dst, const void *src, size_t n)
{
    switch (n) {
    case 8: {
        uint64_t v;
        __builtin_memcpy(&v, src, 8);
        __builtin_memcpy(dst, &v, 8);
        break;
    }
    case 4: {
        uint32_t v;
        __builtin_memcpy(&v, src, 4);
        __builtin_memcpy(dst, &v, 4);
        break;
    }
    default:
        memcpy(dst, src, n);
    }
}

/* elem_small / elemcopy_small - the element sizes the fast paths copy inline, and that
 * copy: no call, so the fast paths keep every value in argument registers. */
static inline bool elem_small(size_t n)
{
    return n == 8 || n == 4;
}

static inline void elemcopy_small(void *dst, const void *src, size_t n)
{
    if (mn_likely(n == 8)) {
        uint64_t v;
        __builtin_memcpy(&v, src, 8);
        __builtin_memcpy(dst, &v, 8);
    } else {
        uint32_t v;
        __builtin_memcpy(&v, src, 4);
        __builtin_memcpy(dst, &v, 4);
    }
}

int mn_chan_make(struct mn_chan **out, size_t elem_bytes, size_t cap)
{
    if (!out || elem_bytes == 0 || elem_bytes > 65536 || cap > ((size_t)1 << 32))
        return -EINVAL;
    struct mn_chan *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    if (cap) {
        c->buf = malloc(cap * elem_bytes);
        if (!c->buf) {
            free(c);
            return -ENOMEM;
        }
    }
    c->elemsize = elem_bytes;
    c->cap = cap;
    c->slow = !elem_small(elem_bytes);
    *out = c;
    return 0;
}

/* chan_trylock - take c's spin lock if it is free (one exchange).  The fast paths below
 * hand a contended lock, and every case they do not cover, to send_locked / recv_locked by
 * a tail call: the fast paths make no other call before their last one (gopark, or the
 * ready's cold parts, which are tail calls too), so they push no callee-saved register. */
static inline bool chan_trylock(struct mn_chan *c)
{
    if (mn_unlikely(__atomic_exchange_n(&c->lock, 1, __ATOMIC_ACQUIRE)))
        return false;
    chan_check(c);
    return true;
}

/* send_park, recv_park - with c->lock held and no partner nor buffer room: queue a sudog
 * on the stack and park until a partner or close wakes us.  Functions of their own
 * (tail-called), so that the fast paths need no stack frame. */
static MN_NOINLINE int send_park(struct mn_chan *c, struct mn_g *gp, const void *elem)
{
    struct mn_sudog me;
    me.g = gp;
    me.elem = (void *)elem;
    me.success = false;
    enqueue(&c->sendq, &c->sendq_tail, &me); /* sets me.next */
    mn_gopark_spin(gp, &c->lock);
    return me.success ? 0 : -EPIPE;
}

static MN_NOINLINE int recv_park(struct mn_chan *c, struct mn_g *gp, void *elem, bool *ok)
{
    struct mn_sudog me;
    me.g = gp;
    me.elem = elem;
    me.success = false;
    enqueue(&c->recvq, &c->recvq_tail, &me);
    mn_gopark_spin(gp, &c->lock);
    if (ok)
        *ok = me.success;
    return 0;
}

/* send_locked - mn_chan_send with c->lock held: every case. */
static MN_NOINLINE int send_locked(struct mn_chan *c, struct mn_g *gp, const void *elem)
{
    if (c->closed) {
        mn_spin_unlock(&c->lock);
        return -EPIPE;
    }
    struct mn_sudog *sg = dequeue(&c->recvq, &c->recvq_tail);
    if (sg) {
        if (sg->elem)
            elemcopy(sg->elem, elem, c->elemsize);
        sg->success = true;
        struct mn_g *rg = sg->g;
        mn_spin_unlock(&c->lock);
        return mn_goready_by(gp, rg);
    }
    if (c->qcount < c->cap) {
        elemcopy(c->buf + c->sendx * c->elemsize, elem, c->elemsize);
        if (++c->sendx == c->cap)
            c->sendx = 0;
        c->qcount++;
        mn_spin_unlock(&c->lock);
        return 0;
    }
    return send_park(c, gp, elem);
}

static MN_NOINLINE int send_contended(struct mn_chan *c, struct mn_g *gp, const void *elem)
{
    mn_spin_lock(&c->lock);
    chan_check(c);
    return send_locked(c, gp, elem);
}

/* mn_chan_send - the fast paths of send_locked (a 4- or 8-byte element, channel open):
 * hand-off to a waiting receiver, a free buffer slot, or park. */
int mn_chan_send(struct mn_chan *c, const void *elem)
{
    struct mn_g *gp = mn_getg_entry();
    if (!gp)
        return -EPERM;
    if (mn_unlikely(!chan_trylock(c)))
        return send_contended(c, gp, elem);
    if (mn_unlikely(c->slow))
        return send_locked(c, gp, elem);
    size_t n = c->elemsize;
    struct mn_sudog *sg = c->recvq;
    if (sg) {
        c->recvq = sg->next;
        if (!c->recvq)
            c->recvq_tail = NULL;
        if (sg->elem)
            elemcopy_small(sg->elem, elem, n);
        sg->success = true;
        struct mn_g *rg = sg->g;
        mn_spin_unlock(&c->lock);
        return mn_goready_by(gp, rg);
    }
    if (c->qcount < c->cap) {
        elemcopy_small(c->buf + c->sendx * n, elem, n);
        if (++c->sendx == c->cap)
            c->sendx = 0;
        c->qcount++;
        mn_spin_unlock(&c->lock);
        return 0;
    }
    return send_park(c, gp, elem);
}

/* recv_locked - mn_chan_recv with c->lock held: every case. */
static MN_NOINLINE int recv_locked(struct mn_chan *c, struct mn_g *gp, void *elem, bool *ok)
{
    if (c->closed && c->qcount == 0) {
        mn_spin_unlock(&c->lock);
        if (elem)
            memset(elem, 0, c->elemsize);
        if (ok)
            *ok = false;
        return 0;
    }
    struct mn_sudog *sg = dequeue(&c->sendq, &c->sendq_tail);
    if (sg) {
        if (c->cap == 0) {
            if (elem)
                elemcopy(elem, sg->elem, c->elemsize);
        } else {
            /* buffer is full: take its head, put the sender's value at the tail */
            char *slot = c->buf + c->recvx * c->elemsize;
            if (elem)
                elemcopy(elem, slot, c->elemsize);
            elemcopy(slot, sg->elem, c->elemsize);
            if (++c->recvx == c->cap)
                c->recvx = 0;
            c->sendx = c->recvx;
        }
        sg->success = true;
        struct mn_g *sgp = sg->g;
        mn_spin_unlock(&c->lock);
        if (ok)
            *ok = true;
        return mn_goready_by(gp, sgp);
    }
    if (c->qcount > 0) {
        if (elem)
            elemcopy(elem, c->buf + c->recvx * c->elemsize, c->elemsize);
        if (++c->recvx == c->cap)
            c->recvx = 0;
        c->qcount--;
        mn_spin_unlock(&c->lock);
        if (ok)
            *ok = true;
        return 0;
    }
    return recv_park(c, gp, elem, ok);
}

static MN_NOINLINE int recv_contended(struct mn_chan *c, struct mn_g *gp, void *elem, bool *ok)
{
    mn_spin_lock(&c->lock);
    chan_check(c);
    return recv_locked(c, gp, elem, ok);
}

/* mn_chan_recv - the fast paths of recv_locked (a 4- or 8-byte element, channel open):
 * hand-off from a sender waiting on an unbuffered channel, an element from the buffer, or
 * park. */
int mn_chan_recv(struct mn_chan *c, void *elem, bool *ok)
{
    struct mn_g *gp = mn_getg_entry();
    if (!gp)
        return -EPERM;
    if (mn_unlikely(!chan_trylock(c)))
        return recv_contended(c, gp, elem, ok);
    if (mn_unlikely(c->slow))
        return recv_locked(c, gp, elem, ok);
    size_t n = c->elemsize;
    struct mn_sudog *sg = c->sendq;
    if (sg) {
        if (c->cap != 0) /* a full buffer with senders waiting */
            return recv_locked(c, gp, elem, ok);
        c->sendq = sg->next;
        if (!c->sendq)
            c->sendq_tail = NULL;
        if (elem)
            elemcopy_small(elem, sg->elem, n);
        sg->success = true;
        struct mn_g *sgp = sg->g;
        mn_spin_unlock(&c->lock);
        if (ok)
            *ok = true;
        return mn_goready_by(gp, sgp);
    }
    if (c->qcount > 0) {
        if (elem)
            elemcopy_small(elem, c->buf + c->recvx * n, n);
        if (++c->recvx == c->cap)
            c->recvx = 0;
        c->qcount--;
        mn_spin_unlock(&c->lock);
        if (ok)
            *ok = true;
        return 0;
    }
    return recv_park(c, gp, elem, ok);
}

int mn_chan_close(struct mn_chan *c)
{
    mn_spin_lock(&c->lock);
    chan_check(c);
    if (c->closed) {
        mn_spin_unlock(&c->lock);
        return -EPIPE;
    }
    c->closed = 1;
    c->slow = 1;
    struct mn_g *list = NULL;
    struct mn_sudog *sg;
    while ((sg = dequeue(&c->recvq, &c->recvq_tail))) {
        if (sg->elem)
            memset(sg->elem, 0, c->elemsize);
        sg->success = false;
        sg->g->schedlink = list;
        list = sg->g;
    }
    while ((sg = dequeue(&c->sendq, &c->sendq_tail))) {
        sg->success = false;
        sg->g->schedlink = list;
        list = sg->g;
    }
    mn_spin_unlock(&c->lock);
    while (list) {
        struct mn_g *gp = list;
        list = gp->schedlink;
        mn_goready(gp);
    }
    return 0;
}

size_t mn_chan_len(const struct mn_chan *c)
{
    return ld_relaxed(&c->qcount);
}

size_t mn_chan_cap(const struct mn_chan *c)
{
    return c->cap;
}

int mn_chan_free(struct mn_chan *c)
{
    if (!c)
        return 0;
    mn_spin_lock(&c->lock);
    bool busy = c->recvq || c->sendq;
    mn_spin_unlock(&c->lock);
    if (busy)
        return -EBUSY;
    free(c->buf);
    free(c);
    return 0;
}
