/* testutil.h - helpers shared by the runtime's Criterion tests. */
#ifndef MN_TESTUTIL_H
#define MN_TESTUTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <time.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mn.h"
#include "san.h"

/* G_ASSERT - the assertion for code that runs on a G (a function given to mn_run or mn_go,
 * and what it calls).  Criterion's cr_assert unwinds with longjmp to the test's own stack,
 * which is not safe from a G's stack on another M, so this prints the file, line, failed
 * condition and an optional printf-style message, and aborts: Criterion reports the test
 * as crashed.  The model is libdill's tests/assert.h.  In the test body use cr_assert. */
#define G_ASSERT(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: G_ASSERT failed: %s: ", __FILE__, __LINE__, #cond);            \
            fprintf(stderr, " " __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                                   \
            fflush(stderr);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Tests that wait for something wait on the event itself, with this generous limit (never a
 * count of yields or polls: under load such a budget runs out although nothing is lost). */
#define TEST_WAIT_NS (60ull * 1000000000ull)

static inline uint64_t test_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* run_cfg - mn_init(cfg), mn_run(fn, arg), mn_fini(); asserts each step; returns fn's result. */
static inline int run_cfg(const struct mn_config *cfg, int (*fn)(void *), void *arg)
{
    int rc = mn_init(cfg);
    cr_assert_eq(rc, 0, "mn_init: %s", strerror(-rc));
    int r = mn_run(fn, arg);
    cr_assert_geq(r, 0, "mn_run: %s", strerror(-r));
    cr_assert_eq(mn_fini(), 0);
    return r;
}

/* cfg_procs - defaults with GOMAXPROCS n. */
static inline struct mn_config cfg_procs(int n)
{
    struct mn_config c;
    cr_assert_eq(mn_config_init(&c), 0);
    c.gomaxprocs = n;
    return c;
}

/* count_dir - entries in a /proc directory (threads, fds). */
static inline int count_dir(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static inline int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    if (!f)
        return -1;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* run_child - run fn in a forked child with stderr captured; returns the exit status
 * (as from waitpid) and fills buf with what the child wrote to stderr. */
static inline int run_child(void (*fn)(void), char *buf, size_t len)
{
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(pfd[0]);
        dup2(pfd[1], 2);
        alarm(60);
        fn();
        _exit(0);
    }
    close(pfd[1]);
    size_t got = 0;
    ssize_t r;
    while (got < len - 1 && (r = read(pfd[0], buf + got, len - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = 0;
    close(pfd[0]);
    int st;
    waitpid(pid, &st, 0);
    return st;
}

#endif
