/*
 * qemu_exec.c - LD_PRELOAD shim for arm64 programs run under qemu-aarch64 (user mode)
 * on a host without a binfmt_misc handler for arm64: an execve() of an aarch64 ELF is
 * turned into an execve() of qemu-aarch64 running it.  Criterion needs this: it runs each
 * test in a worker made by re-executing the test binary (BoxFort), which the host kernel
 * refuses with ENOEXEC.  No global host state (binfmt_misc) is touched.
 *
 * Environment (the guest's): MN_QEMU_AARCH64 = path of the host's qemu-aarch64.  The
 * shim's own LD_PRELOAD entry is dropped from the host-side environment (the x86-64
 * loader of qemu would reject an arm64 object) and handed back to the guest with -E.
 * Built by tests/arm64.mk with the cross compiler (-shared -fPIC); used only by tests.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* is_aarch64_elf - whether path is an ELF file for EM_AARCH64 (183). */
static int is_aarch64_elf(const char *path)
{
    unsigned char h[20];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, h, sizeof h);
    close(fd);
    return n == (ssize_t)sizeof h && memcmp(h, "\177ELF", 4) == 0 && h[18] == 183 && h[19] == 0;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
    static int (*real)(const char *, char *const[], char *const[]);
    if (!real)
        real = (int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execve");
    const char *qemu = getenv("MN_QEMU_AARCH64");
    size_t argc = 0, envc = 0;
    while (argv[argc])
        argc++;
    while (envp[envc])
        envc++;
    char **nargv = calloc(argc + 8, sizeof *nargv);
    char **nenvp = calloc(envc + 1, sizeof *nenvp);
    if (!nargv || !nenvp) {
        errno = ENOMEM;
        return -1;
    }
    /* The host's programs (qemu itself, /bin/sh) never get the arm64 LD_PRELOAD. */
    size_t k = 0, e = 0;
    const char *pre = NULL;
    for (size_t i = 0; i < envc; i++) {
        if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0)
            pre = envp[i];
        else
            nenvp[e++] = envp[i];
    }
    if (!qemu || !is_aarch64_elf(path))
        return real(path, argv, nenvp);
    nargv[k++] = (char *)qemu;
    if (pre) {
        nargv[k++] = "-E";
        nargv[k++] = (char *)pre;
    }
    nargv[k++] = "-0";
    nargv[k++] = argc ? argv[0] : (char *)path;
    nargv[k++] = (char *)path;
    for (size_t i = 1; i < argc; i++)
        nargv[k++] = argv[i];
    return real(qemu, nargv, nenvp);
}
