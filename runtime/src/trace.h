/*
 * trace.h - P lifecycle and G event trace (claim P4.4.trace), written as Chrome trace-event
 * JSON that Perfetto, chrome://tracing and Chrome DevTools open.  Enabled by
 * cfg.trace_path / MN_TRACE.
 * The scheduler calls MN_TRACE(...) at each event; when tracing is off that is one
 * predictable branch on mn_trace_on.
 */
#ifndef MN_TRACE_INTERNAL_H
#define MN_TRACE_INTERNAL_H

#include <stdint.h>

enum mn_trace_ev {
    MN_EV_P_START,   /* an M acquired P (arg: P id) */
    MN_EV_P_STOP,    /* the M released P */
    MN_EV_P_IDLE,    /* P went on the idle list */
    MN_EV_P_STEAL,   /* P stole Gs (g: number stolen, aux: victim P id) */
    MN_EV_G_CREATE,  /* G g created on P p */
    MN_EV_G_START,   /* G g starts running on P p */
    MN_EV_G_BLOCK,   /* G g parked (stops running) */
    MN_EV_G_UNBLOCK, /* G g readied (by the G running on P p) */
    MN_EV_G_END,     /* G g exited */
    MN_EV_G_YIELD,   /* G g yielded (stops running, stays runnable) */
};

extern int mn_trace_on;

/* mn_trace_open - start writing events to path.  0, or a negative errno from open. */
int mn_trace_open(const char *path);
/* mn_trace_event - record one event now (timestamp taken inside): p = P id (-1 none),
 * g = G id (0 none), aux = event-specific.  Thread-safe; called by any M. */
void mn_trace_event(enum mn_trace_ev ev, int p, uint64_t g, int64_t aux);
/* mn_trace_close - flush and close the file, leaving valid JSON whose spans (complete "X"
 * events) nest G inside P (open spans are ended at the close time).  Called by mn_fini. */
void mn_trace_close(void);

#define MN_TRACE(ev, p, g, aux)                                                                    \
    do {                                                                                           \
        if (__builtin_expect(mn_trace_on, 0))                                                      \
            mn_trace_event((ev), (p), (g), (aux));                                                 \
    } while (0)

#endif
