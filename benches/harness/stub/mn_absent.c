/*
 * mn_absent.c - stand-in for libmn.a, linked into the bench binary only while the runtime
 * sources (runtime/src/proc.c) do not exist yet.  Every call fails with -ENOSYS (or NULL),
 * so G benches skip with "n/a: runtime not built" and the harness and the pthread / pipe /
 * ucontext / fcontext peers can be built and tested on their own.  Never linked once the
 * runtime exists (benches/benches.mk).
 */
#include "mn.h"
#include "mn_export.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int mn_config_init(struct mn_config *cfg)
{
    *cfg = (struct mn_config){0};
    return 0;
}
int mn_init(const struct mn_config *cfg)
{
    (void)cfg;
    return -ENOSYS;
}
int mn_run(int (*fn)(void *), void *arg)
{
    (void)fn;
    (void)arg;
    return -ENOSYS;
}
int mn_fini(void)
{
    return -EINVAL;
}
int mn_config_get(struct mn_config *out)
{
    (void)out;
    return -EINVAL;
}
int mn_go(void (*fn)(void *), void *arg)
{
    (void)fn;
    (void)arg;
    return -ENOSYS;
}
void mn_gosched(void) {}
void mn_goexit(void)
{
    abort();
}
uint64_t mn_goid(void)
{
    return 0;
}
int64_t mn_numgoroutine(void)
{
    return 0;
}
int mn_gomaxprocs(int n)
{
    (void)n;
    return -ENOSYS;
}
void mn_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}
void mn_syscall_enter(void) {}
void mn_syscall_exit(void) {}
int mn_chan_make(struct mn_chan **out, size_t e, size_t c)
{
    (void)out;
    (void)e;
    (void)c;
    return -ENOSYS;
}
int mn_chan_send(struct mn_chan *c, const void *e)
{
    (void)c;
    (void)e;
    return -ENOSYS;
}
int mn_chan_recv(struct mn_chan *c, void *e, bool *ok)
{
    (void)c;
    (void)e;
    (void)ok;
    return -ENOSYS;
}
int mn_chan_close(struct mn_chan *c)
{
    (void)c;
    return -ENOSYS;
}
size_t mn_chan_len(const struct mn_chan *c)
{
    (void)c;
    return 0;
}
size_t mn_chan_cap(const struct mn_chan *c)
{
    (void)c;
    return 0;
}
int mn_chan_free(struct mn_chan *c)
{
    (void)c;
    return -ENOSYS;
}
void mn_wg_init(struct mn_wg *wg)
{
    *wg = (struct mn_wg){0};
}
void mn_wg_add(struct mn_wg *wg, int64_t d)
{
    wg->n += d;
}
void mn_wg_done(struct mn_wg *wg)
{
    wg->n--;
}
int mn_wg_wait(struct mn_wg *wg)
{
    (void)wg;
    return -ENOSYS;
}
void mn_mutex_init(struct mn_mutex *mu, const char *name)
{
    (void)mu;
    (void)name;
}
void mn_mutex_lock(struct mn_mutex *mu)
{
    (void)mu;
}
void mn_mutex_unlock(struct mn_mutex *mu)
{
    (void)mu;
}
int mn_mutex_profile(struct mn_mutex_prof *out, int n)
{
    (void)out;
    (void)n;
    return 0;
}
int mn_stats_read(struct mn_stats *out)
{
    (void)out;
    return -EINVAL;
}
int mn_latency_read(uint64_t b[MN_LAT_BINS], uint64_t *n, uint64_t *s)
{
    (void)b;
    (void)n;
    (void)s;
    return -EINVAL;
}
void mn_latency_reset(void) {}
int mn_x_p_layout(int pad, struct mn_x_layout *out)
{
    (void)pad;
    (void)out;
    return -ENOSYS;
}
struct mn_p *mn_x_p_new(int pad)
{
    (void)pad;
    return NULL;
}
void mn_x_p_free(struct mn_p *pp)
{
    (void)pp;
}
struct mn_g *mn_x_fake_gs(size_t n)
{
    (void)n;
    return NULL;
}
struct mn_g *mn_x_fake_g(struct mn_g *base, size_t i)
{
    (void)base;
    (void)i;
    return NULL;
}
uint64_t mn_x_g_id(const struct mn_g *gp)
{
    (void)gp;
    return 0;
}
bool mn_x_runqput(struct mn_p *pp, struct mn_g *gp, bool next)
{
    (void)pp;
    (void)gp;
    (void)next;
    return false;
}
struct mn_g *mn_x_runqget(struct mn_p *pp)
{
    (void)pp;
    return NULL;
}
struct mn_g *mn_x_runqsteal(struct mn_p *d, struct mn_p *s, bool n)
{
    (void)d;
    (void)s;
    (void)n;
    return NULL;
}
uint32_t mn_x_runqlen(struct mn_p *pp)
{
    (void)pp;
    return 0;
}
const char *mn_x_stack_guard_mode(void)
{
    return "n/a: runtime not built";
}
