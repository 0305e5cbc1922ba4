/*
 * trace.c - P lifecycle and G event trace (claim P4.4.trace) as Chrome trace-event JSON.
 *
 * Output: {"traceEvents":[...],"displayTimeUnit":"ns"}, one track per P (pid 1, tid = P
 * id, named "P<i>" by metadata events), opened by Perfetto (ui.perfetto.dev) and
 * chrome://tracing.  On each P track:
 *
 *   "P"        a B/E span while an M holds the P (MN_EV_P_START .. P_STOP / P_IDLE);
 *   "G <id>"   a B/E span nested inside it while G <id> runs (G_START .. G_BLOCK /
 *              G_YIELD / G_END); the E event's args say why it stopped;
 *   instants   ("ph":"i", thread scope) for G create, G unblock, steal and idle.
 *
 * Events with no P (p < 0 or >= MN_MAX_PROCS) go to an extra track, tid MN_MAX_PROCS,
 * named "no P"; only instants are drawn there.  "ts" is microseconds (3 decimals, so ns
 * resolution) of CLOCK_MONOTONIC since mn_trace_open.  The trace-event format does not
 * require events sorted by time, and viewers sort them; events of one call appear in the
 * file in the order they were made, which is what a stable sort by ts needs.
 *
 * Balance.  Each P has a two-word state (span of the P open? which G's span is open?)
 * updated with atomic exchanges, so each B gets at most one E whatever order the
 * scheduler reports in: a G_START while another G's span is open closes it first, a
 * G_START with the P's span closed opens it first, P_STOP / P_IDLE close the G span and
 * then the P span.  mn_trace_close ends every open span at the close time, so in the file
 * every B has its E on the same track, properly nested.
 *
 * Cost.  Off: the MN_TRACE macro's one predicted branch on mn_trace_on.  On: a clock read,
 * an uncontended per-thread spin lock, two atomic exchanges on the P's state and a 32-byte
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
 *   Lock order: buffer list lock -> a buffer's lock -> file lock.
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
    R_P_BEGIN, /* B "P" */
    R_P_END,   /* E of "P"; aux = why */
    R_G_BEGIN, /* B "G <g>" */
    R_G_END,   /* E of "G <g>"; aux = why */
    R_CREATE,  /* i "create", args g */
    R_UNBLOCK, /* i "unblock", args g */
    R_STEAL,   /* i "steal", args n = g, victim = aux */
    R_IDLE,    /* i "idle" */
};

/* Why a span ended (the E event's "why" arg). */
enum end_why { W_STOP, W_IDLE, W_BLOCK, W_YIELD, W_END, W_NEXT, W_CLOSE };
static const char *const why_name[] = {"stop", "idle",           "block",       "yield",
                                       "end",  "next G started", "trace closed"};

struct rec {
    uint64_t ts_ns; /* CLOCK_MONOTONIC, absolute */
    uint64_t g;     /* G id (or count for a steal) */
    int64_t aux;    /* end_why, or steal victim */
    int32_t tid;    /* track: P id, or MN_MAX_PROCS for "no P" */
    uint32_t kind;  /* enum rec_kind */
};

#define TRACE_BUF_RECS 2048

struct tbuf {
    atomic_flag lock;  /* held by the owner while appending, by flushers */
    atomic_bool free;  /* no thread owns it; may be taken by a new thread */
    int n;             /* records in rec[] (under lock) */
    struct tbuf *next; /* list of all buffers (under list_lock; never unlinked) */
    struct rec rec[TRACE_BUF_RECS];
};

/* Per-P span state; padded so Ps on different Ms do not share a line. */
struct pstate {
    atomic_int p_open;      /* 1 while the P span is open */
    atomic_uint_fast64_t g; /* G whose span is open, 0 none */
    char pad[64 - sizeof(atomic_int) - sizeof(atomic_uint_fast64_t)];
};

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

/* emit_json - write one record as a JSON event.  file_lock held. */
static void emit_json(const struct rec *r)
{
    FILE *f = trace_file;
    double ts = (double)(int64_t)(r->ts_ns - t0_ns) / 1000.0;

    fputs(nwritten++ ? ",\n" : "\n", f);
    switch ((enum rec_kind)r->kind) {
    case R_P_BEGIN:
        fprintf(f,
                "{\"name\":\"P\",\"cat\":\"p\",\"ph\":\"B\",\"ts\":%.3f,\"pid\":1,"
                "\"tid\":%d}",
                ts, r->tid);
        break;
    case R_G_BEGIN:
        fprintf(f,
                "{\"name\":\"G %" PRIu64 "\",\"cat\":\"g\",\"ph\":\"B\",\"ts\":%.3f,"
                "\"pid\":1,\"tid\":%d,\"args\":{\"g\":%" PRIu64 "}}",
                r->g, ts, r->tid, r->g);
        break;
    case R_P_END:
    case R_G_END:
        fprintf(f, "{\"ph\":\"E\",\"ts\":%.3f,\"pid\":1,\"tid\":%d,\"args\":{\"why\":\"%s\"}}", ts,
                r->tid, why_name[r->aux]);
        break;
    case R_CREATE:
    case R_UNBLOCK:
        fprintf(f,
                "{\"name\":\"%s\",\"cat\":\"g\",\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f,"
                "\"pid\":1,\"tid\":%d,\"args\":{\"g\":%" PRIu64 "}}",
                r->kind == R_CREATE ? "create" : "unblock", ts, r->tid, r->g);
        break;
    case R_STEAL:
        fprintf(f,
                "{\"name\":\"steal\",\"cat\":\"p\",\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f,"
                "\"pid\":1,\"tid\":%d,\"args\":{\"n\":%" PRIu64 ",\"victim\":%" PRId64 "}}",
                ts, r->tid, r->g, r->aux);
        break;
    case R_IDLE:
        fprintf(f,
                "{\"name\":\"idle\",\"cat\":\"p\",\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f,"
                "\"pid\":1,\"tid\":%d}",
                ts, r->tid);
        break;
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
static void put(struct tbuf *b, uint64_t ts, enum rec_kind kind, int tid, uint64_t g, int64_t aux)
{
    if (b->n == TRACE_BUF_RECS)
        buf_flush(b);
    b->rec[b->n++] = (struct rec){.ts_ns = ts, .g = g, .aux = aux, .tid = tid, .kind = kind};
}

/* close_g, close_p - end the open G span / P span of P p, if any.  b's lock held. */
static void close_g(struct tbuf *b, uint64_t ts, int p, enum end_why why)
{
    if (atomic_exchange(&pst[p].g, 0) != 0)
        put(b, ts, R_G_END, p, 0, why);
}

static void close_p(struct tbuf *b, uint64_t ts, int p, enum end_why why)
{
    close_g(b, ts, p, why);
    if (atomic_exchange(&pst[p].p_open, 0))
        put(b, ts, R_P_END, p, 0, why);
}

static void open_p(struct tbuf *b, uint64_t ts, int p)
{
    if (!atomic_exchange(&pst[p].p_open, 1))
        put(b, ts, R_P_BEGIN, p, 0, 0);
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
        atomic_store(&pst[p].p_open, 0);
        atomic_store(&pst[p].g, 0);
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

    switch (ev) {
    case MN_EV_P_START:
        if (onp)
            open_p(b, ts, p);
        break;
    case MN_EV_P_STOP:
        if (onp)
            close_p(b, ts, p, W_STOP);
        break;
    case MN_EV_P_IDLE:
        if (onp)
            close_p(b, ts, p, W_IDLE);
        put(b, ts, R_IDLE, tid, 0, 0);
        break;
    case MN_EV_P_STEAL:
        put(b, ts, R_STEAL, tid, g, aux);
        break;
    case MN_EV_G_CREATE:
        put(b, ts, R_CREATE, tid, g, 0);
        break;
    case MN_EV_G_START:
        if (onp && g != 0) {
            close_g(b, ts, p, W_NEXT);
            open_p(b, ts, p);
            atomic_store(&pst[p].g, g);
            put(b, ts, R_G_BEGIN, p, g, 0);
        }
        break;
    case MN_EV_G_BLOCK:
        if (onp)
            close_g(b, ts, p, W_BLOCK);
        break;
    case MN_EV_G_YIELD:
        if (onp)
            close_g(b, ts, p, W_YIELD);
        break;
    case MN_EV_G_END:
        if (onp)
            close_g(b, ts, p, W_END);
        break;
    case MN_EV_G_UNBLOCK:
        put(b, ts, R_UNBLOCK, tid, g, 0);
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
    /* End the spans still open, G inside P. */
    for (int p = 0; p <= maxp; p++) {
        if (atomic_exchange(&pst[p].g, 0) != 0) {
            r = (struct rec){.ts_ns = ts, .aux = W_CLOSE, .tid = p, .kind = R_G_END};
            emit_json(&r);
        }
        if (atomic_exchange(&pst[p].p_open, 0)) {
            r = (struct rec){.ts_ns = ts, .aux = W_CLOSE, .tid = p, .kind = R_P_END};
            emit_json(&r);
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
