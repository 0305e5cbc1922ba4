/*
 * papi.c - event counters the harness attaches to every bench (STYLE.md 2.6 "Counters").
 *
 * Which threads are counted.  A bench's work runs on several OS threads: the caller,
 * runtime Ms (created on demand and parked between uses), pthreads of the peers.  At the
 * start of each timed region this file lists /proc/self/task and opens one counter set per
 * thread, each with inheritance on, so threads that any of them create during the region
 * are counted too (perf's `inherit`: a read of the parent includes live children, and a
 * child's counts fold into the parent when it exits).  The alternative, a per-process
 * counter (perf's pid = tgid with inherit), only follows the thread-group leader's future
 * children, not existing threads, and PAPI_attach to the process id counts the leader
 * only; listing tasks is the only way that covers already-running Ms.  Opening costs some
 * microseconds per thread and event, outside the timed region.
 *
 * Two backends.  The perf software events (perf::CONTEXT-SWITCHES, perf::PAGE-FAULTS...)
 * are always opened here with perf_event_open(2); PAPI (libpapi 7, component perf_event)
 * handles every other event it knows.  PAPI is not used for the software events because
 * (a) its default domain is user space (exclude_kernel), where context switches and CPU
 * migrations never happen, so they read 0 even on the calling thread; (b) PAPI_attach and
 * PAPI_INHERIT first probe a PERF_COUNT_HW_INSTRUCTIONS event on the target thread
 * (check_permissions() in PAPI 7.0's perf_event.c), which fails with ENOENT on a KVM
 * guest without vPMU, so every other thread's set fails to open (kernel 6.18 here: PAPI's
 * perf_event component comes up on the `perf` PMU of libpfm4 although there is no CPU
 * PMU); (c) on older hosts libpfm4 finds no default PMU and PAPI disables the whole
 * component.  Hardware events are never emulated: they are dropped with the reason in
 * context key counters_na.
 *
 * No silent counters.  An event is read from every thread of /proc/self/task or not at
 * all: when its open fails on some thread, or more threads run than MAX_TASKS, the value
 * of that run is withheld (bench_ctr_stop returns -1) and bench_ctr_row_na_json gives the
 * reason ("not opened on 2 of 3 threads (PAPI_attach: ...)", "thread cap reached ...").
 * Kernel-side events (context switches, migrations) counted in user space only
 * (non-root with perf_event_paranoid >= 2) would read 0: they are dropped as n/a with the
 * sysctl that allows them.
 *
 * Scaling.  Raw perf events are read with TOTAL_TIME_ENABLED/RUNNING and scaled by
 * enabled/running when multiplexed; PAPI event sets are not put in multiplex mode, so an
 * event that does not fit the PMU with the others fails to add and is dropped as
 * "conflict".
 *
 * Reasons in counters_na.  "unknown event": no PMU of this host and none libpfm4 supports
 * has an event of that name (a typo).  Otherwise why a known event cannot be counted:
 * "no PMU (...)", "PMU unusable (...)", "conflict", "perf_event_paranoid", ...  While
 * PAPI's perf_event component is up it has seen every PMU here, so a name it cannot look
 * up is unknown; PAPI_* preset names are known to PAPI regardless.  When the component is
 * disabled (no PMU) PAPI knows no native name at all, so libpfm4 (libpfm.so.4, PAPI's own
 * dependency; pfmlib.h is not installed, hence dlopen) is asked: an event of a present PMU
 * (perf::CYCLES on the always-present `perf` PMU), or a `pmu::` prefix naming a PMU it
 * supports that this host lacks, is "no PMU"; anything else is unknown.
 */
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <papi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_TASKS 1024 /* threads counted at most; with more, every event is n/a */

enum backend { BK_PAPI, BK_PERF };

/* jbuf - a growable JSON object of string pairs, {"k": "v", ...}, escaped per RFC 8259
 * (quote, backslash, control characters; ';' too, as \u003b, so the text can sit in a
 * ';'-separated Google Benchmark label).  Allocation failure leaves "{}". */
struct jbuf {
    char *s;
    size_t len, cap;
};

static void jb_put(struct jbuf *b, const char *t, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return;
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, t, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void jb_str(struct jbuf *b, const char *t)
{
    jb_put(b, "\"", 1);
    for (; *t; t++) {
        unsigned char c = (unsigned char)*t;
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c < 0x20 || c == ';')
            snprintf(esc, sizeof esc, "\\u%04x", c);
        else
            esc[0] = (char)c, esc[1] = 0;
        jb_put(b, esc, strlen(esc));
    }
    jb_put(b, "\"", 1);
}

static void jb_reset(struct jbuf *b)
{
    b->len = 0;
    jb_put(b, "{}", 2);
}

static void jb_add(struct jbuf *b, const char *k, const char *v)
{
    if (b->len < 2)
        jb_reset(b);
    if (b->len < 2)
        return;
    int first = b->len == 2;
    b->len--; /* drop '}' */
    if (!first)
        jb_put(b, ", ", 2);
    jb_str(b, k);
    jb_put(b, ": ", 2);
    jb_str(b, v);
    jb_put(b, "}", 1);
}

static const char *jb_text(const struct jbuf *b)
{
    return b->s && b->len >= 2 ? b->s : "{}";
}

struct event {
    char name[64];
    enum backend bk;
    int papi_code;
    uint32_t perf_type;
    uint64_t perf_config;
    int perf_mod; /* MOD_U / MOD_K: ":u" (user only) or ":k" (kernel only) */
};

enum { MOD_U = 1, MOD_K = 2 };

static struct event events[BENCH_CTR_MAX];
static int nevents;
static int papi_ok;        /* PAPI_library_init succeeded */
static char papi_why[256]; /* why PAPI cannot count hardware events */
static char papi_ver[64] = "n/a: not initialised";
static struct jbuf na_run; /* {"EVENT": "reason"} of events dropped at setup */
static struct jbuf na_row; /* the same for the last start/stop pair */
static char names_csv[BENCH_CTR_MAX * 66];
static char backend_line[256];
static int exclude_kernel; /* perf_event_paranoid forbids kernel counting */

/* Per-run state: per thread, PAPI event set and perf fds. */
static int ntasks;
static int max_tasks = MAX_TASKS; /* env BENCH_CTR_MAX_THREADS lowers it (smoke test) */
static int task_es[MAX_TASKS];
static int task_fd[MAX_TASKS][BENCH_CTR_MAX];
static int tasks_truncated;
static int task_total;                    /* threads listed, counted or not */
static int open_fail[BENCH_CTR_MAX];      /* threads on which event i did not open */
static int open_ok[BENCH_CTR_MAX];        /* threads on which it did */
static char open_why[BENCH_CTR_MAX][160]; /* first failure's reason */
static int paranoid_level = 2;
static double running_share = 1; /* min over perf fds of running/enabled, last stop */

static const struct {
    const char *name;
    uint64_t config;
} perf_sw[] = {
    {"CPU-CLOCK", PERF_COUNT_SW_CPU_CLOCK},
    {"TASK-CLOCK", PERF_COUNT_SW_TASK_CLOCK},
    {"PAGE-FAULTS", PERF_COUNT_SW_PAGE_FAULTS},
    {"CONTEXT-SWITCHES", PERF_COUNT_SW_CONTEXT_SWITCHES},
    {"CPU-MIGRATIONS", PERF_COUNT_SW_CPU_MIGRATIONS},
    {"MINOR-FAULTS", PERF_COUNT_SW_PAGE_FAULTS_MIN},
    {"MAJOR-FAULTS", PERF_COUNT_SW_PAGE_FAULTS_MAJ},
};

/* The kernel's generic hardware events, opened here like the software ones (each name its
 * own fd, so the kernel multiplexes them when they outnumber the PMU's counters and the
 * reads are scaled by enabled/running, see bench_ctr_stop).  They also count where PAPI
 * knows no PMU model (libpfm4 "no default PMU found", e.g. QEMU's -cpu max).  A ":u" or
 * ":k" suffix counts user or kernel space only. */
static const struct {
    const char *name;
    uint64_t config;
} perf_hw[] = {
    {"CYCLES", PERF_COUNT_HW_CPU_CYCLES},
    {"CPU-CYCLES", PERF_COUNT_HW_CPU_CYCLES},
    {"PERF_COUNT_HW_CPU_CYCLES", PERF_COUNT_HW_CPU_CYCLES},
    {"INSTRUCTIONS", PERF_COUNT_HW_INSTRUCTIONS},
    {"PERF_COUNT_HW_INSTRUCTIONS", PERF_COUNT_HW_INSTRUCTIONS},
    {"BRANCH-INSTRUCTIONS", PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
    {"BRANCH-MISSES", PERF_COUNT_HW_BRANCH_MISSES},
    {"STALLED-CYCLES-FRONTEND", PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
    {"STALLED-CYCLES-BACKEND", PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
};

static int perf_open(uint32_t type, uint64_t config, int mod, pid_t tid)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = type;
    a.config = config;
    a.disabled = 1;
    a.inherit = 1;
    a.exclude_kernel = exclude_kernel || (mod & MOD_U);
    a.exclude_user = (mod & MOD_K) != 0;
    a.exclude_hv = 1;
    a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static void na_add(const char *name, const char *why)
{
    jb_add(&na_run, name, why);
}

/* How to let an unprivileged user count what perf_event_paranoid forbids. */
#define PARANOID_FIX "as root: sysctl -w kernel.perf_event_paranoid=1"

static void papi_init_once(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    int rc = PAPI_library_init(PAPI_VER_CURRENT);
    if (rc != PAPI_VER_CURRENT) {
        snprintf(papi_ver, sizeof papi_ver, "n/a: PAPI_library_init: %s",
                 rc < 0 ? PAPI_strerror(rc) : "version mismatch");
        snprintf(papi_why, sizeof papi_why, "PAPI unusable (%s)", papi_ver + 5);
        return;
    }
    papi_ok = 1;
    snprintf(papi_ver, sizeof papi_ver, "%d.%d.%d.%d", PAPI_VERSION_MAJOR(PAPI_VERSION),
             PAPI_VERSION_MINOR(PAPI_VERSION), PAPI_VERSION_REVISION(PAPI_VERSION),
             PAPI_VERSION_INCREMENT(PAPI_VERSION));
    int cidx = PAPI_get_component_index("perf_event");
    const PAPI_component_info_t *ci = cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
    if (!ci)
        snprintf(papi_why, sizeof papi_why, "PAPI has no perf_event component");
    else if (ci->disabled)
        snprintf(papi_why, sizeof papi_why, "%s (PAPI perf_event: %.200s)",
                 bench_pmu_present() ? "PMU unusable" : "no PMU", ci->disabled_reason);
}

/* libpfm4's pfm_pmu_info_t, first (ABI0) layout: pfmlib.h is not installed. */
struct pfm_pmu_info0 {
    const char *name, *desc;
    int pmu, type;
    size_t size;
    int nevents, first_event, max_encoding, num_cntrs, num_fixed_cntrs;
    unsigned int flags; /* bit 0: is_present */
};

/* Does libpfm4 know `name`?  1: an event of a present PMU, or its `pmu::` prefix names a
 * PMU libpfm4 supports that is absent here (an event the missing PMU could have); 0: not
 * an event; -1: cannot tell (libpfm.so.4 not loadable). */
static int pfm_known(const char *name)
{
    void *h = dlopen("libpfm.so.4", RTLD_NOW);
    if (!h)
        return -1;
    int (*init)(void) = (int (*)(void))dlsym(h, "pfm_initialize");
    int (*find)(const char *) = (int (*)(const char *))dlsym(h, "pfm_find_event");
    int (*info)(int, struct pfm_pmu_info0 *) =
        (int (*)(int, struct pfm_pmu_info0 *))dlsym(h, "pfm_get_pmu_info");
    if (!init || !find || !info || init() != 0)
        return -1; /* the handle stays open: PAPI holds libpfm anyway */
    if (find(name) >= 0)
        return 1;
    const char *sep = strstr(name, "::");
    if (!sep)
        return -1; /* unprefixed: could belong to the missing default PMU */
    for (int p = 0; p < 4096; p++) {
        struct pfm_pmu_info0 in;
        memset(&in, 0, sizeof in);
        in.size = sizeof in;
        if (info(p, &in) == 0 && in.name && strlen(in.name) == (size_t)(sep - name) &&
            !strncmp(in.name, name, (size_t)(sep - name)))
            return !(in.flags & 1); /* present PMU without the event: unknown */
    }
    return 0;
}

/* Is `name` no event at all (a typo), as opposed to one this host cannot count?  Asked
 * when PAPI could not look the name up. */
static int event_unknown(const char *name)
{
    if (!papi_ok)
        return pfm_known(name) == 0;
    if (!strncmp(name, "PAPI_", 5))
        return 1; /* PAPI knows every preset, countable here or not */
    if (!papi_why[0])
        return 1; /* perf_event component up: every PMU of this host was searched */
    return pfm_known(name) == 0;
}

/* Can PAPI count this event on this thread alone?  Returns 0 or a PAPI error. */
static int papi_try(int code)
{
    int es = PAPI_NULL;
    int rc = PAPI_create_eventset(&es);
    if (rc == PAPI_OK)
        rc = PAPI_add_event(es, code);
    if (es != PAPI_NULL) {
        PAPI_cleanup_eventset(es);
        PAPI_destroy_eventset(&es);
    }
    return rc;
}

/* perf_sw_index - index into perf_sw of a perf::NAME software event, or -1. */
static int perf_sw_index(const char *name)
{
    if (strncmp(name, "perf::", 6))
        return -1;
    for (size_t k = 0; k < sizeof perf_sw / sizeof perf_sw[0]; k++)
        if (!strcasecmp(name + 6, perf_sw[k].name))
            return (int)k;
    return -1;
}

/* perf_hw_index - index into perf_hw of perf::NAME[:u|:k], or -1; *mod gets the suffix. */
static int perf_hw_index(const char *name, int *mod)
{
    char base[64];
    *mod = 0;
    if (strncmp(name, "perf::", 6) || strlen(name + 6) >= sizeof base)
        return -1;
    strcpy(base, name + 6);
    char *c = strchr(base, ':');
    if (c) {
        if (!strcmp(c, ":u"))
            *mod = MOD_U;
        else if (!strcmp(c, ":k"))
            *mod = MOD_K;
        else
            return -1;
        *c = 0;
    }
    for (size_t k = 0; k < sizeof perf_hw / sizeof perf_hw[0]; k++)
        if (!strcasecmp(base, perf_hw[k].name))
            return (int)k;
    return -1;
}

/* ==== ARM PMUv3: is a common event implemented? =========================================
 * The common events (numbers 0x00-0x3f) a PMUv3 implements are those its PMCEID0/1
 * registers advertise; Linux lists exactly those under
 * /sys/bus/event_source/devices/armv8_<pmu>/events (armv8pmu_event_attr_is_visible) and
 * refuses its generic hardware and cache events for the others.  Raw events bypass that
 * check: an unimplemented one opens and reads 0 (QEMU's emulated PMU implements only
 * CPU_CYCLES and INST_RETIRED; a cloud VM's PMU may hide events too).  PAPI presets are
 * encoded as raw events, so each of their native events is checked here. */
static int arm_ncodes = -1; /* -1: not read yet; 0: no armv8 PMU (cannot tell) */
static unsigned arm_codes[256];
static char arm_pmu[64];

static void arm_read_events(void)
{
    arm_ncodes = 0;
    DIR *d = opendir("/sys/bus/event_source/devices");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, "armv8", 5))
            continue;
        char path[320];
        snprintf(path, sizeof path, "/sys/bus/event_source/devices/%s/events", de->d_name);
        DIR *e = opendir(path);
        struct dirent *ee;
        while (e && (ee = readdir(e))) {
            char fp[640], buf[64];
            snprintf(fp, sizeof fp, "%s/%s", path, ee->d_name);
            FILE *f = ee->d_name[0] != '.' ? fopen(fp, "r") : NULL;
            unsigned code;
            if (f && fgets(buf, sizeof buf, f) && sscanf(buf, "event=%x", &code) == 1 &&
                arm_ncodes < 256)
                arm_codes[arm_ncodes++] = code;
            if (f)
                fclose(f);
        }
        if (e)
            closedir(e);
        snprintf(arm_pmu, sizeof arm_pmu, "%.63s", de->d_name);
        break;
    }
    if (d)
        closedir(d);
}

/* libpfm4's pfm_event_info_t, first (ABI0) layout (pfmlib.h is not installed). */
struct pfm_event_info0 {
    const char *name, *desc, *equiv;
    size_t size;
    uint64_t code;
    int pmu, dtype, idx, nattrs, reserved;
    unsigned int flags;
};

/* arm_unsupported - 1 when native event `name` (pmu::EVENT[:attrs]) is an ARM common event
 * this PMU does not implement (its number is missing from the PMU's sysfs events), 0
 * otherwise or when that cannot be told (no armv8 PMU, an IMPLEMENTATION DEFINED event). */
static int arm_unsupported(const char *name)
{
    if (arm_ncodes < 0)
        arm_read_events();
    if (arm_ncodes == 0)
        return 0;
    void *h = dlopen("libpfm.so.4", RTLD_NOW);
    int (*find)(const char *) = h ? (int (*)(const char *))dlsym(h, "pfm_find_event") : NULL;
    int (*info)(int, int, struct pfm_event_info0 *) =
        h ? (int (*)(int, int, struct pfm_event_info0 *))dlsym(h, "pfm_get_event_info") : NULL;
    if (!find || !info)
        return 0;
    char base[128];
    snprintf(base, sizeof base, "%s", name);
    char *sep = strstr(base, "::");
    char *attr = strchr(sep ? sep + 2 : base, ':');
    if (attr)
        *attr = 0;
    int idx = find(base);
    struct pfm_event_info0 ei;
    memset(&ei, 0, sizeof ei);
    ei.size = sizeof ei;
    if (idx < 0 || info(idx, 0, &ei) != 0 || ei.code >= 0x40)
        return 0;
    for (int i = 0; i < arm_ncodes; i++)
        if (arm_codes[i] == ei.code)
            return 0;
    return 1;
}

/* papi_arm_unsupported - the first native event of PAPI event `code` this ARM PMU does not
 * implement (see above), copied to out; 0 when there is none. */
static int papi_arm_unsupported(int code, char *out, size_t n)
{
    PAPI_event_info_t in;
    if (PAPI_get_event_info(code, &in) != PAPI_OK)
        return 0;
    if (IS_PRESET(code)) {
        for (unsigned k = 0; k < in.count && k < PAPI_MAX_INFO_TERMS; k++)
            if (arm_unsupported(in.name[k])) {
                snprintf(out, n, "%.127s", in.name[k]);
                return 1;
            }
        return 0;
    }
    if (arm_unsupported(in.symbol)) {
        snprintf(out, n, "%.127s", in.symbol);
        return 1;
    }
    return 0;
}

/* Software events that happen only in the kernel: counted in user space they read 0. */
static int kernel_side(uint64_t config)
{
    return config == PERF_COUNT_SW_CONTEXT_SWITCHES || config == PERF_COUNT_SW_CPU_MIGRATIONS;
}

/* perf_open_why - reason text for a failed perf_event_open (errno e) into buf. */
static void perf_open_why(char *buf, size_t n, int e)
{
    if (e == EACCES || e == EPERM)
        snprintf(buf, n, "perf_event_open: %s (perf_event_paranoid=%d; %s)", strerror(e),
                 paranoid_level, PARANOID_FIX);
    else
        snprintf(buf, n, "perf_event_open: %s", strerror(e));
}

int bench_ctr_setup(const char *list)
{
    char buf[1024], why[320];
    nevents = 0;
    jb_reset(&na_run);
    jb_reset(&na_row);
    names_csv[0] = 0;
    papi_init_once();
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int paranoid = 2;
    if (f) {
        if (fscanf(f, "%d", &paranoid) != 1)
            paranoid = 2;
        fclose(f);
    }
    paranoid_level = paranoid;
    const char *cap = getenv("BENCH_CTR_MAX_THREADS");
    max_tasks = cap && atoi(cap) > 0 && atoi(cap) < MAX_TASKS ? atoi(cap) : MAX_TASKS;
    exclude_kernel = geteuid() != 0 && paranoid >= 2;
    if (!list)
        list = BENCH_CTR_DEFAULT;
    if (!*list || !strcmp(list, "none"))
        return 0;
    size_t len = strlen(list);
    if (len >= sizeof buf || list[0] == ',' || list[len - 1] == ',' || strstr(list, ",,"))
        return -EINVAL;
    strcpy(buf, list);
    int nperf = 0, npapi = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (!*tok || strlen(tok) >= sizeof events[0].name || nevents == BENCH_CTR_MAX)
            return -EINVAL;
        for (int i = 0; i < nevents; i++)
            if (!strcmp(events[i].name, tok))
                return -EINVAL;
        struct event *e = &events[nevents];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", tok);
        int k = perf_sw_index(tok);
        if (k >= 0) { /* software event: always our own perf_event_open (see top) */
            if (exclude_kernel && kernel_side(perf_sw[k].config)) {
                snprintf(why, sizeof why,
                         "happens in the kernel, but perf_event_paranoid=%d lets a non-root "
                         "user count user space only (it would read 0; %s)",
                         paranoid, PARANOID_FIX);
                na_add(tok, why);
                continue;
            }
            int fd = perf_open(PERF_TYPE_SOFTWARE, perf_sw[k].config, 0, 0);
            if (fd < 0) {
                perf_open_why(why, sizeof why, errno);
                na_add(tok, why);
                continue;
            }
            close(fd);
            e->bk = BK_PERF;
            e->perf_type = PERF_TYPE_SOFTWARE;
            e->perf_config = perf_sw[k].config;
            nevents++;
            nperf++;
            continue;
        }
        int mod;
        if ((k = perf_hw_index(tok, &mod)) >= 0) { /* generic hardware event: our fds */
            int fd = perf_open(PERF_TYPE_HARDWARE, perf_hw[k].config, mod, 0);
            if (fd < 0) {
                int err = errno;
                char pw[200];
                perf_open_why(pw, sizeof pw, err);
                snprintf(why, sizeof why, "%s (%s)",
                         err == EACCES || err == EPERM ? "perf_event_paranoid"
                         : !bench_pmu_present()        ? "no PMU"
                                                       : "event not supported by this PMU",
                         pw);
                na_add(tok, why);
                continue;
            }
            close(fd);
            e->bk = BK_PERF;
            e->perf_type = PERF_TYPE_HARDWARE;
            e->perf_config = perf_hw[k].config;
            e->perf_mod = mod;
            nevents++;
            nperf++;
            continue;
        }
        int code, rc = PAPI_ENOEVNT, named = 0;
        char native[128];
        if (papi_ok && (rc = PAPI_event_name_to_code(tok, &code)) == PAPI_OK) {
            named = 1;
            if ((rc = papi_try(code)) == PAPI_OK &&
                papi_arm_unsupported(code, native, sizeof native)) {
                snprintf(why, sizeof why,
                         "event not supported by this PMU (%s is not among the common events "
                         "%s implements, PMCEID)",
                         native, arm_pmu);
                na_add(tok, why);
                continue;
            }
            if (rc == PAPI_OK) {
                e->bk = BK_PAPI;
                e->papi_code = code;
                nevents++;
                npapi++;
                continue;
            }
        }
        if (rc == PAPI_EPERM)
            snprintf(why, sizeof why, "perf_event_paranoid=%d (%s)", paranoid, PARANOID_FIX);
        else
            snprintf(why, sizeof why, "%s",
                     !named && event_unknown(tok) ? "unknown event"
                     : papi_why[0]                ? papi_why
                     : named && rc == PAPI_ENOEVNT && !bench_pmu_present()
                         ? "no PMU (PAPI: Event does not exist)"
                     : named && rc == PAPI_ENOEVNT
                         ? "event not supported by this PMU (PAPI has no native event for it "
                           "on this CPU model)"
                     : rc == PAPI_ECNFLCT ? "conflict"
                     : !papi_ok           ? "PAPI unusable"
                                          : PAPI_strerror(rc));
        na_add(tok, why);
    }
    /* More hardware events than the PMU has counters: the kernel multiplexes them.  Our
     * own fds are scaled by enabled/running (bench_ctr_stop).  PAPI reads the separate
     * fds of an attached, inherited event set without scaling, and PAPI_set_multiplex
     * does not change that for such a set (arm64 PMU guest, PAPI 7.0: PAPI_TOT_INS read
     * 0.33 of the exact count), so its events are withheld rather than reported low. */
    int nhw = npapi;
    for (int i = 0; i < nevents; i++)
        nhw += events[i].bk == BK_PERF && events[i].perf_type == PERF_TYPE_HARDWARE;
    int ncnt = papi_ok ? PAPI_num_cmp_hwctrs(0) : 0;
    if (npapi && ncnt > 0 && nhw > ncnt) {
        int k = 0;
        for (int i = 0; i < nevents; i++) {
            if (events[i].bk != BK_PAPI) {
                events[k++] = events[i];
                continue;
            }
            snprintf(why, sizeof why,
                     "would be multiplexed unscaled: %d hardware events for %d counters, and "
                     "PAPI does not scale an attached, inherited event set; count fewer events "
                     "or use perf::CYCLES / perf::INSTRUCTIONS",
                     nhw, ncnt);
            na_add(events[i].name, why);
        }
        nevents = k;
        npapi = 0;
    }
    for (int i = 0; i < nevents; i++) {
        size_t len = strlen(names_csv);
        snprintf(names_csv + len, sizeof names_csv - len, "%s%.63s", i ? "," : "", events[i].name);
    }
    snprintf(backend_line, sizeof backend_line,
             "%d via PAPI, %d via perf_event_open; per thread of /proc/self/task with "
             "inherit; an event not opened on every thread is n/a for that row%s",
             npapi, nperf, exclude_kernel ? "; user space only (perf_event_paranoid)" : "");
    return nevents;
}

int bench_ctr_count(void)
{
    return nevents;
}
const char *bench_ctr_name(int i)
{
    return i >= 0 && i < nevents ? events[i].name : NULL;
}
const char *bench_ctr_names_csv(void)
{
    return names_csv;
}
const char *bench_ctr_na_json(void)
{
    return jb_text(&na_run);
}
const char *bench_ctr_row_na_json(void)
{
    return jb_text(&na_row);
}
const char *bench_ctr_backend(void)
{
    return backend_line;
}
double bench_ctr_running_share(void)
{
    return running_share;
}
const char *bench_papi_version(void)
{
    papi_init_once();
    return papi_ver;
}

/* papi_open_task - a started PAPI event set of the BK_PAPI events on thread tid, inherited
 * by the threads it creates; PAPI_NULL with the failing call in why otherwise. */
static int papi_open_task(pid_t tid, char *why, size_t n)
{
    int es = PAPI_NULL, rc;
    const char *what = "PAPI_create_eventset";
    if ((rc = PAPI_create_eventset(&es)) != PAPI_OK)
        goto fail;
    what = "PAPI_attach";
    if ((rc = PAPI_assign_eventset_component(es, 0)) != PAPI_OK)
        goto fail;
    if ((rc = PAPI_attach(es, (unsigned long)tid)) != PAPI_OK)
        goto fail;
    PAPI_option_t opt;
    memset(&opt, 0, sizeof opt);
    opt.inherit.eventset = es;
    opt.inherit.inherit = PAPI_INHERIT_ALL;
    what = "PAPI_INHERIT";
    if ((rc = PAPI_set_opt(PAPI_INHERIT, &opt)) != PAPI_OK)
        goto fail; /* threads it creates would go uncounted */
    what = "PAPI_add_event";
    for (int i = 0; i < nevents; i++)
        if (events[i].bk == BK_PAPI && (rc = PAPI_add_event(es, events[i].papi_code)) != PAPI_OK)
            goto fail;
    what = "PAPI_start";
    if ((rc = PAPI_start(es)) != PAPI_OK)
        goto fail;
    return es;
fail:
    snprintf(why, n, "%s: %s", what, PAPI_strerror(rc));
    if (es != PAPI_NULL) {
        PAPI_cleanup_eventset(es);
        PAPI_destroy_eventset(&es);
    }
    return PAPI_NULL;
}

static void open_failed(int i, const char *why)
{
    if (!open_fail[i]++)
        snprintf(open_why[i], sizeof open_why[i], "%s", why);
}

void bench_ctr_start(void)
{
    ntasks = 0;
    task_total = 0;
    tasks_truncated = 0;
    memset(open_fail, 0, sizeof open_fail);
    memset(open_ok, 0, sizeof open_ok);
    jb_reset(&na_row);
    if (!nevents)
        return;
    int need_papi = 0;
    for (int i = 0; i < nevents; i++)
        need_papi |= events[i].bk == BK_PAPI;
    DIR *d = opendir("/proc/self/task");
    if (!d) {
        for (int i = 0; i < nevents; i++)
            open_failed(i, "cannot list /proc/self/task");
        return;
    }
    struct dirent *de;
    char why[160];
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        task_total++;
        if (ntasks == max_tasks) {
            tasks_truncated = 1;
            continue;
        }
        pid_t tid = (pid_t)atoi(de->d_name);
        int t = ntasks++;
        task_es[t] = need_papi ? papi_open_task(tid, why, sizeof why) : PAPI_NULL;
        for (int i = 0; i < nevents; i++) {
            task_fd[t][i] = -1;
            if (events[i].bk == BK_PAPI && task_es[t] == PAPI_NULL)
                open_failed(i, why);
            else if (events[i].bk == BK_PAPI)
                open_ok[i]++;
            if (events[i].bk != BK_PERF)
                continue;
            task_fd[t][i] =
                perf_open(events[i].perf_type, events[i].perf_config, events[i].perf_mod, tid);
            if (task_fd[t][i] >= 0) {
                open_ok[i]++;
            } else if (errno != ESRCH) { /* ESRCH: the thread exited, nothing to count */
                perf_open_why(why, sizeof why, errno);
                open_failed(i, why);
            }
        }
    }
    closedir(d);
    /* Enable last so opening cost is not counted (software events only; PAPI_start above
     * already runs, which counts only the harness's own few syscalls). */
    for (int t = 0; t < ntasks; t++)
        for (int i = 0; i < nevents; i++)
            if (task_fd[t][i] >= 0)
                ioctl(task_fd[t][i], PERF_EVENT_IOC_ENABLE, 0);
}

void bench_ctr_stop(double vals[BENCH_CTR_MAX])
{
    for (int i = 0; i < BENCH_CTR_MAX; i++)
        vals[i] = nevents && i < nevents && ntasks ? 0 : -1;
    for (int t = 0; t < ntasks; t++)
        for (int i = 0; i < nevents; i++)
            if (task_fd[t][i] >= 0)
                ioctl(task_fd[t][i], PERF_EVENT_IOC_DISABLE, 0);
    int papi_read[BENCH_CTR_MAX] = {0}, fd_read[BENCH_CTR_MAX] = {0};
    double en[BENCH_CTR_MAX] = {0}, run[BENCH_CTR_MAX] = {0};
    int unsched[BENCH_CTR_MAX] = {0}; /* threads where it was enabled but never ran */
    for (int t = 0; t < ntasks; t++) {
        if (task_es[t] != PAPI_NULL) {
            long long v[BENCH_CTR_MAX];
            if (PAPI_stop(task_es[t], v) == PAPI_OK) {
                for (int i = 0, k = 0; i < nevents; i++)
                    if (events[i].bk == BK_PAPI) {
                        vals[i] += (double)v[k++];
                        papi_read[i]++;
                    }
            }
            PAPI_cleanup_eventset(task_es[t]);
            PAPI_destroy_eventset(&task_es[t]);
        }
        for (int i = 0; i < nevents; i++) {
            int fd = task_fd[t][i];
            if (fd < 0)
                continue;
            uint64_t r[3];
            if (read(fd, r, sizeof r) == (ssize_t)sizeof r) {
                fd_read[i]++;
                en[i] += (double)r[1];
                run[i] += (double)r[2];
                unsched[i] += r[1] > 0 && r[2] == 0;
                if (r[2] > 0)
                    vals[i] +=
                        r[2] < r[1] ? (double)r[0] * (double)r[1] / (double)r[2] : (double)r[0];
            }
            close(fd);
        }
    }
    running_share = 1;
    for (int i = 0; i < nevents; i++)
        if (en[i] > 0 && run[i] / en[i] < running_share)
            running_share = run[i] / en[i];
    char why[320];
    for (int i = 0; i < nevents && ntasks; i++) {
        int opened = open_ok[i];
        int got = events[i].bk == BK_PAPI ? papi_read[i] : fd_read[i];
        why[0] = 0;
        if (tasks_truncated)
            snprintf(why, sizeof why,
                     "thread cap reached (%d threads running, the harness counts at most %d)",
                     task_total, max_tasks);
        else if (open_fail[i])
            snprintf(why, sizeof why, "not opened on %d of %d threads (%.159s)", open_fail[i],
                     task_total, open_why[i]);
        else if (unsched[i])
            snprintf(why, sizeof why,
                     "multiplexed out: never on a counter on %d of %d threads (more events "
                     "than the PMU has counters; nothing to scale)",
                     unsched[i], task_total);
        else if (got < opened)
            snprintf(why, sizeof why, "not read on %d of %d threads (%s failed)", opened - got,
                     task_total, events[i].bk == BK_PAPI ? "PAPI_stop" : "read");
        if (why[0]) {
            vals[i] = -1;
            jb_add(&na_row, events[i].name, why);
        }
    }
    ntasks = 0;
}
