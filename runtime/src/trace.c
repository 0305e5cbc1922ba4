/*
 * trace.c - P lifecycle and G event trace (claim P4.4.trace) as Chrome trace-event JSON.
 *
 * Output: {"traceEvents":[...],"displayTimeUnit":"ns"}, one track per P (pid 1, tid = P
 * id, named "P<i>" by metadata events), opened by Perfetto (ui.perfetto.dev),
 * chrome://tracing, Chrome DevTools' Performance panel and speedscope.  On each P track:
 *
 *   "P"        a complete ("ph":"X", ts + dur) span while an M holds the P
 *              (MN_EV_P_START .. P_STOP / P_IDLE);
 *   "G <id>"   a complete span nested inside it while G <id> runs (G_START .. G_BLOCK /
 *              G_YIELD / G_END); args say which G and why the span ended ("why");
 *   instants   ("ph":"I", thread scope) for G create, G unblock, steal and idle ("I" is
 *              the older spelling of "i"; Perfetto and chrome://tracing read both, Chrome
 *              DevTools only "I").
 *
 * Why complete events and not B/E pairs: an "E" event must name what it ends (name, cat)
 * or Chrome DevTools' parser rejects the file (TypeError in its MetaHandler) and
 * speedscope never closes the spans; an "X" event carries its own extent, so a viewer
 * cannot mis-pair it.  A span is written when it ends, when both ends are known.
 * Format: the Trace Event Format document (Google, "Trace Event Format", the "Complete
 * Events" section).  tests/trace-viewer/ loads a real trace with Chrome DevTools' own
 * parser (npm @paulirish/trace_engine) in make test.
 *
 * Events with no P (p < 0 or >= MN_MAX_PROCS) go to an extra track, tid MN_MAX_PROCS,
 * named "no P"; only instants are drawn there.  "ts" and "dur" are microseconds with 3
 * decimals, printed from integer nanoseconds of CLOCK_MONOTONIC since mn_trace_open (so a G
 * span never pokes out of its P span by a rounding step).  The trace-event format does not
 * require events sorted by time, and viewers sort them: spans are written in the order
 * they end.
 *
 * Nesting.  Each P has a small state under a spin lock: is the P span open and since when,
 * which G's span is open and since when.  The span events' clock is read under that lock,
 * so on one P the spans' times follow the order the scheduler reported them in, whichever
 * thread reported: a G_START while another G's span is open ends it first, a G_START with
 * the P's span closed opens it first, P_STOP / P_IDLE end the G span and then the P span.
 * mn_trace_close ends every open span at the close time.  So in the file each G span lies
 * inside a P span of its track, and spans of one kind on a track never overlap.
 *
 * Cost.  Off: the MN_TRACE macro's one predicted branch on mn_trace_on.  On: a clock read,
 * an uncontended per-thread spin lock, an uncontended per-P spin lock and a 32-byte
 * record in a per-thread buffer (about 40 ns an event on the project's 2-vCPU VM: an
 * unbuffered channel message, ~4 events, went from ~42 to ~200 ns).  A full buffer (2048
 * records) is appended raw to an unlinked temp file (tmpfile(), so under $TMPDIR or /tmp)
 * under the file lock, as is a thread's buffer when it exits; mn_trace_close formats the
 * JSON (about 10x the cost of taking the event, which is why it waits) and removes the
 * temp file.  Disk use while tracing: 32 bytes an event.
 *
 * Concurrency contract.
 *   - mn_trace_event: any thread, any time; events made when no trace is open are dropped.
 *   - mn_trace_open / mn_trace_close: one caller at a time (mn_init / mn_fini).  Close may
 *     run while other threads still make events: those that got their buffer lock before
 *     close reached that buffer are written, later ones are dropped.
 *   Lock order: buffer list lock -> a buffer's lock -> a P's state lock -> file lock.
 *   Buffers are never freed: a thread's buffer goes back to the list when the thread exits
 *   (pthread key destructor) and is reused by the next thread that traces.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mn.h"
#include "trace.h"

int mn_trace_on;

/* ==== Records and buffers ============================================================ */

enum rec_kind {
    R_P_SPAN,  /* X "P": ts_ns = begin, aux = end (ns), why in kind >> 8 */
    R_G_SPAN,  /* X "G <g>": ts_ns = begin, aux = end (ns), why in kind >> 8 */
    R_CREATE,  /* i "create", args g */
    R_UNBLOCK, /* i "unblock", args g */
    R_STEAL,   /* i "steal", args n = g, victim = aux */
    R_IDLE,    /* i "idle" */
};

/* Why a span ended (the span's "why" arg). */
enum end_why { W_STOP, W_IDLE, W_BLOCK, W_YIELD, W_END, W_NEXT, W_CLOSE };
static const char *const why_name[] = {"stop", "idle",           "block",       "yield",
                                       "end",  "next G started", "trace closed"};

struct rec {
    uint64_t ts_ns; /* CLOCK_MONOTONIC, absolute */
    uint64_t g;     /* G id (or count for a steal) */
    int64_t aux;    /* span end (CLOCK_MONOTONIC ns), or steal victim */
    int32_t tid;    /* track: P id, or MN_MAX_PROCS for "no P" */
    uint32_t kind;  /* enum rec_kind | enum end_why << 8 */
};

#define TRACE_BUF_RECS 2048

struct tbuf {
    atomic_flag lock;  /* held by the owner while appending, by flushers */
    atomic_bool free;  /* no thread owns it; may be taken by a new thread */
    int n;             /* records in rec[] (under lock) */
    struct tbuf *next; /* list of all buffers (under list_lock; never unlinked) */
    struct rec rec[TRACE_BUF_RECS];
};

/* Per-P span state, under lock; padded so Ps on different Ms do not share a line. */
struct pstate {
    atomic_flag lock; /* held while the fields are read or written */
    bool p_open;      /* the P span is open */
    uint64_t p_ts;    /* its begin, CLOCK_MONOTONIC ns */
    uint64_t g;       /* G whose span is open, 0 none */
    uint64_t g_ts;    /* its begin */
} __attribute__((aligned(64)));

#define NOP_TID MN_MAX_PROCS /* the "no P" track */

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tbuf *buf_list; /* under list_lock */
static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *trace_file;        /* the JSON output; written only by close */
static FILE *spool;             /* raw records, under file_lock (unlinked temp file) */
static uint64_t t0_ns;          /* CLOCK_MONOTONIC at open */
static bool spool_err;          /* a spool write failed (under file_lock) */
static uint64_t nwritten;       /* events written (under file_lock) */
static atomic_bool active;      /* open and not yet closing */
static atomic_int max_tid = -1; /* highest P id seen (for thread-name metadata) */
static atomic_bool nop_used;    /* the "no P" track was used */
static struct pstate pst[MN_MAX_PROCS];

static pthread_key_t tbuf_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static __thread struct tbuf *my_buf;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static void buf_lock(struct tbuf *b)
{
    while (atomic_flag_test_and_set_explicit(&b->lock, memory_order_acquire))
        cpu_relax();
}

static void buf_unlock(struct tbuf *b)
{
    atomic_flag_clear_explicit(&b->lock, memory_order_release);
}

/* ==== Writing ========================================================================= */

/* put_us - print ns as microseconds with 3 decimals (exact: no float rounding). */
static void put_us(FILE *f, uint64_t ns)
{
    fprintf(f, "%" PRIu64 ".%03u", ns / 1000, (unsigned)(ns % 1000));
}

/* emit_json - write one record as a JSON event.  file_lock held. */
static void emit_json(const struct rec *r)
{
    FILE *f = trace_file;
    enum rec_kind kind = (enum rec_kind)(r->kind & 0xff);
    unsigned why = r->kind >> 8;
    /* a record made before open's t0 (a racing event) is clamped to 0 */
    uint64_t ts = r->ts_ns > t0_ns ? r->ts_ns - t0_ns : 0;

    fputs(nwritten++ ? ",\n" : "\n", f);
    switch (kind) {
    case R_P_SPAN:
    case R_G_SPAN:
        if (kind == R_P_SPAN)
            fputs("{\"name\":\"P\",\"cat\":\"p\",\"ph\":\"X\",\"ts\":", f);
        else
            fprintf(f, "{\"name\":\"G %" PRIu64 "\",\"cat\":\"g\",\"ph\":\"X\",\"ts\":", r->g);
        put_us(f, ts);
        fputs(",\"dur\":", f);
        put_us(f, (uint64_t)r->aux - r->ts_ns);
        fprintf(f, ",\"pid\":1,\"tid\":%d,\"args\":{", r->tid);
        if (kind == R_G_SPAN)
            fprintf(f, "\"g\":%" PRIu64 ",", r->g);
        fprintf(f, "\"why\":\"%s\"}}", why_name[why]);
        return;
    case R_CREATE:
    case R_UNBLOCK:
        fprintf(f, "{\"name\":\"%s\",\"cat\":\"g\",\"ph\":\"I\",\"s\":\"t\",\"ts\":",
                kind == R_CREATE ? "create" : "unblock");
        put_us(f, ts);
        fprintf(f, ",\"pid\":1,\"tid\":%d,\"args\":{\"g\":%" PRIu64 "}}", r->tid, r->g);
        return;
    case R_STEAL:
        fputs("{\"name\":\"steal\",\"cat\":\"p\",\"ph\":\"I\",\"s\":\"t\",\"ts\":", f);
        put_us(f, ts);
        fprintf(f, ",\"pid\":1,\"tid\":%d,\"args\":{\"n\":%" PRIu64 ",\"victim\":%" PRId64 "}}",
                r->tid, r->g, r->aux);
        return;
    case R_IDLE:
        fputs("{\"name\":\"idle\",\"cat\":\"p\",\"ph\":\"I\",\"s\":\"t\",\"ts\":", f);
        put_us(f, ts);
        fprintf(f, ",\"pid\":1,\"tid\":%d}", r->tid);
        return;
    }
}

/* buf_flush - append b's raw records to the spool and empty b.  b's lock held; takes
 * file_lock.  Formatting JSON costs ~10x more than taking an event, so it waits for
 * mn_trace_close. */
static void buf_flush(struct tbuf *b)
{
    if (b->n == 0)
        return;
    pthread_mutex_lock(&file_lock);
    if (spool && fwrite(b->rec, sizeof b->rec[0], (size_t)b->n, spool) != (size_t)b->n)
        spool_err = true;
    pthread_mutex_unlock(&file_lock);
    b->n = 0;
}

/* tbuf_release - pthread key destructor: flush the exiting thread's buffer and give it
 * back for reuse. */
static void tbuf_release(void *p)
{
    struct tbuf *b = p;

    buf_lock(b);
    buf_flush(b);
    buf_unlock(b);
    my_buf = NULL;
    atomic_store(&b->free, true);
}

static void key_init(void)
{
    if (pthread_key_create(&tbuf_key, tbuf_release) != 0)
        abort(); /* only EAGAIN (key table full): nothing sensible to do */
}

/* tbuf_get - the calling thread's buffer: a free one from the list, else a new one.
 * NULL only when malloc fails (the event is then dropped). */
static struct tbuf *tbuf_get(void)
{
    struct tbuf *b;

    if (__builtin_expect(my_buf != NULL, 1))
        return my_buf;
    pthread_once(&key_once, key_init);
    pthread_mutex_lock(&list_lock);
    for (b = buf_list; b; b = b->next) {
        bool expect = true;
        if (atomic_compare_exchange_strong(&b->free, &expect, false))
            break;
    }
    if (!b && (b = malloc(sizeof(*b))) != NULL) {
        atomic_flag_clear(&b->lock);
        atomic_init(&b->free, false);
        b->n = 0;
        b->next = buf_list;
        buf_list = b;
    }
    pthread_mutex_unlock(&list_lock);
    if (b) {
        pthread_setspecific(tbuf_key, b);
        my_buf = b;
    }
    return b;
}

/* put - append a record.  b's lock held. */
static void put(struct tbuf *b, uint64_t ts, unsigned kind, int tid, uint64_t g, int64_t aux)
{
    if (b->n == TRACE_BUF_RECS)
        buf_flush(b);
    b->rec[b->n++] = (struct rec){.ts_ns = ts, .g = g, .aux = aux, .tid = tid, .kind = kind};
}

static void pst_lock(struct pstate *ps)
{
    while (atomic_flag_test_and_set_explicit(&ps->lock, memory_order_acquire))
        cpu_relax();
}

static void pst_unlock(struct pstate *ps)
{
    atomic_flag_clear_explicit(&ps->lock, memory_order_release);
}

/* close_g, close_p - end the open G span / P span of P p at ts, if any, writing it as one
 * complete event.  b's lock and pst[p]'s lock held. */
static void close_g(struct tbuf *b, uint64_t ts, int p, enum end_why why)
{
    struct pstate *ps = &pst[p];

    if (ps->g != 0) {
        put(b, ps->g_ts, R_G_SPAN | (unsigned)why << 8, p, ps->g, (int64_t)ts);
        ps->g = 0;
    }
}

static void close_p(struct tbuf *b, uint64_t ts, int p, enum end_why why)
{
    struct pstate *ps = &pst[p];

    close_g(b, ts, p, why);
    if (ps->p_open) {
        put(b, ps->p_ts, R_P_SPAN | (unsigned)why << 8, p, 0, (int64_t)ts);
        ps->p_open = false;
    }
}

static void open_p(uint64_t ts, int p)
{
    struct pstate *ps = &pst[p];

    if (!ps->p_open) {
        ps->p_open = true;
        ps->p_ts = ts;
    }
}

/* ==== Interface (trace.h) ============================================================== */

int mn_trace_open(const char *path)
{
    FILE *f;

    if (!path)
        return -EINVAL;
    if (atomic_load(&active))
        return -EBUSY;
    f = fopen(path, "w");
    if (!f)
        return -errno;
    pthread_mutex_lock(&file_lock);
    spool = tmpfile();
    if (!spool) {
        int e = errno;
        pthread_mutex_unlock(&file_lock);
        fclose(f);
        return -e;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 16);
    setvbuf(spool, NULL, _IOFBF, 1 << 16);
    fputs("{\"traceEvents\":[", f);
    spool_err = false;
    trace_file = f;
    nwritten = 0;
    t0_ns = now_ns();
    pthread_mutex_unlock(&file_lock);
    for (int p = 0; p < MN_MAX_PROCS; p++) {
        pst_lock(&pst[p]);
        pst[p].p_open = false;
        pst[p].g = 0;
        pst_unlock(&pst[p]);
    }
    atomic_store(&max_tid, -1);
    atomic_store(&nop_used, false);
    atomic_store(&active, true);
    __atomic_store_n(&mn_trace_on, 1, __ATOMIC_RELEASE);
    return 0;
}

void mn_trace_event(enum mn_trace_ev ev, int p, uint64_t g, int64_t aux)
{
    struct tbuf *b;
    uint64_t ts;
    bool onp = p >= 0 && p < MN_MAX_PROCS;
    int tid = onp ? p : NOP_TID;

    if (!atomic_load_explicit(&active, memory_order_acquire))
        return;
    b = tbuf_get();
    if (!b)
        return;
    ts = now_ns();
    buf_lock(b);
    /* re-checked under the buffer lock: close sets active = false before it flushes
     * this buffer, so an event that passes here is written. */
    if (!atomic_load_explicit(&active, memory_order_acquire))
        goto out;
    if (onp) {
        int m = atomic_load_explicit(&max_tid, memory_order_relaxed);
        while (p > m && !atomic_compare_exchange_weak(&max_tid, &m, p))
            ;
    } else if (!atomic_load_explicit(&nop_used, memory_order_relaxed)) {
        atomic_store(&nop_used, true);
    }

    if (onp &&
        (ev == MN_EV_P_START || ev == MN_EV_P_STOP || ev == MN_EV_P_IDLE || ev == MN_EV_G_START ||
         ev == MN_EV_G_BLOCK || ev == MN_EV_G_YIELD || ev == MN_EV_G_END)) {
        /* a span event: the clock is read under the P's lock, so the spans of one P are
         * in the order they were reported in whichever thread reported them */
        struct pstate *ps = &pst[p];
        pst_lock(ps);
        ts = now_ns();
        switch (ev) {
        case MN_EV_P_START:
            open_p(ts, p);
            break;
        case MN_EV_P_STOP:
            close_p(b, ts, p, W_STOP);
            break;
        case MN_EV_P_IDLE:
            close_p(b, ts, p, W_IDLE);
            break;
        case MN_EV_G_START:
            if (g != 0) {
                close_g(b, ts, p, W_NEXT);
                open_p(ts, p);
                ps->g = g;
                ps->g_ts = ts;
            }
            break;
        case MN_EV_G_BLOCK:
            close_g(b, ts, p, W_BLOCK);
            break;
        case MN_EV_G_YIELD:
            close_g(b, ts, p, W_YIELD);
            break;
        default: /* MN_EV_G_END */
            close_g(b, ts, p, W_END);
            break;
        }
        pst_unlock(ps);
    }
    switch (ev) {
    case MN_EV_P_IDLE:
        put(b, ts, R_IDLE, tid, 0, 0);
        break;
    case MN_EV_P_STEAL:
        put(b, ts, R_STEAL, tid, g, aux);
        break;
    case MN_EV_G_CREATE:
        put(b, ts, R_CREATE, tid, g, 0);
        break;
    case MN_EV_G_UNBLOCK:
        put(b, ts, R_UNBLOCK, tid, g, 0);
        break;
    default: /* spans: done above */
        break;
    }
out:
    buf_unlock(b);
}

void mn_trace_close(void)
{
    struct tbuf *b;
    struct rec r;
    uint64_t ts;
    int maxp;
    FILE *f;

    if (!atomic_exchange(&active, false))
        return;
    __atomic_store_n(&mn_trace_on, 0, __ATOMIC_RELEASE);

    /* Flush every buffer; an event maker holding a buffer lock finishes first. */
    pthread_mutex_lock(&list_lock);
    for (b = buf_list; b; b = b->next) {
        buf_lock(b);
        buf_flush(b);
        buf_unlock(b);
    }
    pthread_mutex_unlock(&list_lock);

    ts = now_ns();
    maxp = atomic_load(&max_tid);
    pthread_mutex_lock(&file_lock);
    /* Format the spooled records, in the order they were flushed. */
    if (fflush(spool) == 0 && fseek(spool, 0, SEEK_SET) == 0) {
        struct rec chunk[256];
        size_t k;
        while ((k = fread(chunk, sizeof chunk[0], 256, spool)) > 0)
            for (size_t i = 0; i < k; i++)
                emit_json(&chunk[i]);
    } else {
        spool_err = true;
    }
    if (spool_err)
        fprintf(stderr, "mn_trace_close: spool file error, events were lost (spans stay "
                        "balanced only if no write failed)\n");
    fclose(spool);
    spool = NULL;
    /* End the spans still open, G inside P.  No event touches pst any more (each one
     * re-checks active under its buffer lock, and every buffer was flushed above), so the
     * P locks are not needed here. */
    for (int p = 0; p <= maxp; p++) {
        struct pstate *ps = &pst[p];
        if (ps->g != 0) {
            r = (struct rec){.ts_ns = ps->g_ts,
                             .g = ps->g,
                             .aux = (int64_t)ts,
                             .tid = p,
                             .kind = R_G_SPAN | W_CLOSE << 8};
            emit_json(&r);
            ps->g = 0;
        }
        if (ps->p_open) {
            r = (struct rec){
                .ts_ns = ps->p_ts, .aux = (int64_t)ts, .tid = p, .kind = R_P_SPAN | W_CLOSE << 8};
            emit_json(&r);
            ps->p_open = false;
        }
    }
    /* Metadata: process and track names, tracks sorted by P id. */
    f = trace_file;
    fputs(nwritten++ ? ",\n" : "\n", f);
    fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,"
          "\"args\":{\"name\":\"mn runtime (Ps)\"}}",
          f);
    for (int p = 0; p <= maxp; p++)
        fprintf(f,
                ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
                "\"args\":{\"name\":\"P%d\"}},\n"
                "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
                "\"args\":{\"sort_index\":%d}}",
                p, p, p, p);
    if (atomic_load(&nop_used))
        fprintf(f,
                ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
                "\"args\":{\"name\":\"no P\"}}",
                NOP_TID);
    fputs("\n],\"displayTimeUnit\":\"ns\"}\n", f);
    fclose(f);
    trace_file = NULL;
    pthread_mutex_unlock(&file_lock);
}
