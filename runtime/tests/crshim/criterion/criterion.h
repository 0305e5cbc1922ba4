/*
 * crshim/criterion/criterion.h - the subset of Criterion's API the runtime tests use,
 * for builds where Criterion cannot run: under ThreadSanitizer, Criterion's runner
 * (BoxFort) maps its shared arena with MAP_FIXED at random addresses that TSan reserves
 * for shadow memory and aborts with "Could not initialize inheritable arena".  Only the
 * TSan targets (make test-tsan) put this directory first on the include path and do not
 * link -lcriterion; every other build uses the real Criterion.
 *
 * Semantics kept: each Test runs in its own forked child (the parent stays
 * single-threaded, so fork is safe under TSan) with its .timeout as an alarm; a failed
 * cr_assert ends the child, a failed cr_expect marks it failed and goes on; cr_skip_test
 * skips.  Output: "[FAIL] suite::name: file:line: expression: message" and Criterion's
 * "Synthesis" line.  Exit status 1 when a test failed.
 */
#ifndef CRSHIM_CRITERION_H
#define CRSHIM_CRITERION_H

#pragma GCC diagnostic ignored "-Wformat-zero-length"
#include <fnmatch.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct crshim_opts {
    int unused;
    int timeout;
};
struct crshim_test {
    const char *suite, *name;
    void (*fn)(void);
    int timeout;
};
#define CRSHIM_MAX 256
static struct crshim_test crshim_tests[CRSHIM_MAX];
static int crshim_n;
static int crshim_expect_failed;
static const char *crshim_cur;

static inline void crshim_register(const char *suite, const char *name, void (*fn)(void),
                                   struct crshim_opts o)
{
    if (crshim_n < CRSHIM_MAX)
        crshim_tests[crshim_n++] = (struct crshim_test){suite, name, fn, o.timeout};
}

#define Test(suite, name, ...)                                                                     \
    static void suite##_##name##_crfn(void);                                                       \
    __attribute__((constructor)) static void suite##_##name##_crreg(void)                          \
    {                                                                                              \
        crshim_register(#suite, #name, suite##_##name##_crfn,                                      \
                        (struct crshim_opts){0, __VA_ARGS__});                                     \
    }                                                                                              \
    static void suite##_##name##_crfn(void)

__attribute__((format(printf, 5, 6))) static inline void
crshim_fail(int fatal, const char *expr, const char *file, int line, const char *fmt, ...)
{
    char msg[1024] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[FAIL] %s: %s:%d: %s: %s\n", crshim_cur ? crshim_cur : "?", file, line, expr,
            msg);
    fflush(stderr);
    if (fatal)
        _exit(1);
    crshim_expect_failed = 1;
}

#define CRSHIM_CHECK(fatal, c, expr, ...)                                                          \
    do {                                                                                           \
        if (!(c))                                                                                  \
            crshim_fail(fatal, expr, __FILE__, __LINE__, "" __VA_ARGS__);                          \
    } while (0)

#define cr_assert(c, ...) CRSHIM_CHECK(1, (c), #c, __VA_ARGS__)
#define cr_expect(c, ...) CRSHIM_CHECK(0, (c), #c, __VA_ARGS__)
#define cr_assert_not(c, ...) CRSHIM_CHECK(1, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) CRSHIM_CHECK(1, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) CRSHIM_CHECK(1, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) CRSHIM_CHECK(1, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) CRSHIM_CHECK(1, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) CRSHIM_CHECK(1, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) CRSHIM_CHECK(1, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_null(p, ...) CRSHIM_CHECK(1, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) CRSHIM_CHECK(1, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                                                \
    CRSHIM_CHECK(1, strcmp((a), (b)) == 0, #a " eq " #b, __VA_ARGS__)
#define cr_assert_float_eq(a, b, eps, ...)                                                         \
    CRSHIM_CHECK(1, fabs((double)(a) - (double)(b)) <= (eps), #a " ~ " #b, __VA_ARGS__)
#define cr_assert_fail(...) CRSHIM_CHECK(1, 0, "cr_assert_fail", __VA_ARGS__)
#define cr_expect_eq(a, b, ...) CRSHIM_CHECK(0, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) CRSHIM_CHECK(0, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) CRSHIM_CHECK(0, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) CRSHIM_CHECK(0, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...)                                                                \
    CRSHIM_CHECK(0, strcmp((a), (b)) == 0, #a " eq " #b, __VA_ARGS__)
#define cr_log_info(...) (fprintf(stderr, "[----] " __VA_ARGS__), fputc('\n', stderr))
#define cr_skip_test(...)                                                                          \
    do {                                                                                           \
        fprintf(stderr, "[SKIP] %s: ", crshim_cur);                                                \
        fprintf(stderr, "" __VA_ARGS__);                                                           \
        fputc('\n', stderr);                                                                       \
        _exit(77);                                                                                 \
    } while (0)

int main(int argc, char **argv)
{
    const char *filter = NULL; /* Criterion's --filter=suite/name glob; other flags ignored */
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--filter=", 9) == 0)
            filter = argv[i] + 9;
    int pass = 0, fail = 0, skip = 0, ran = 0;
    char name[256];
    for (int i = 0; i < crshim_n; i++) {
        struct crshim_test *t = &crshim_tests[i];
        snprintf(name, sizeof name, "%s/%s", t->suite, t->name);
        if (filter && fnmatch(filter, name, 0) != 0)
            continue;
        ran++;
        snprintf(name, sizeof name, "%s::%s", t->suite, t->name);
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("crshim: fork");
            return 1;
        }
        if (pid == 0) {
            crshim_cur = name;
            alarm(t->timeout > 0 ? (unsigned)t->timeout * 4 : 240); /* sanitizers are slow */
            t->fn();
            fflush(NULL);
            _exit(crshim_expect_failed ? 1 : 0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
            ;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            pass++;
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
            skip++;
        } else {
            fail++;
            fprintf(stderr, "[FAIL] %s: %s %d\n", name,
                    WIFEXITED(st) ? "exit status" : "killed by signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        }
    }
    fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Skipped: %d\n", ran,
            pass, fail, skip);
    return fail ? 1 : 0;
}

#endif
