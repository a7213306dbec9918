// Linux calls the Swift Glibc module does not import (they need _GNU_SOURCE).
#define _GNU_SOURCE
#include "CSharedMemory.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int iocompute_memfd(const char *name, size_t size) {
#if defined(__linux__)
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)size) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
#else
    (void)name;
    (void)size;
    errno = ENOSYS;
    return -1;
#endif
}

#if defined(__linux__)
static const int readonly_seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
#endif

int iocompute_seal_readonly(int fd) {
#if defined(__linux__)
    return fcntl(fd, F_ADD_SEALS, readonly_seals | F_SEAL_SEAL);
#else
    (void)fd;
    errno = ENOSYS;
    return -1;
#endif
}

int iocompute_is_sealed_readonly(int fd) {
#if defined(__linux__)
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0) return -1;
    return (seals & readonly_seals) == readonly_seals;
#else
    (void)fd;
    errno = ENOSYS;
    return -1;
#endif
}

void *iocompute_remap(void *address, size_t oldSize, size_t newSize) {
#if defined(__linux__)
    void *moved = mremap(address, oldSize, newSize, MREMAP_MAYMOVE);
    return moved == MAP_FAILED ? NULL : moved;
#else
    (void)address;
    (void)oldSize;
    (void)newSize;
    errno = ENOSYS;
    return NULL;
#endif
}

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int iocompute_keep_freed_memory(size_t mmapThreshold, size_t trimThreshold) {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, (int)mmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, (int)trimThreshold) == 1;
#else
    (void)mmapThreshold;
    (void)trimThreshold;
    return 0;
#endif
}

int iocompute_advise_huge_pages(void *address, size_t length) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // madvise takes whole pages: advise the pages that lie entirely inside the range.
    uintptr_t page = 4096;
    uintptr_t start = ((uintptr_t)address + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)address + length) & ~(page - 1);
    if (end <= start) return 0;
    return madvise((void *)start, end - start, MADV_HUGEPAGE) == 0;
#else
    (void)address;
    (void)length;
    return 0;
#endif
}

int iocompute_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
#else
    (void)actions;
    (void)lowest;
    return ENOSYS;
#endif
}

int iocompute_pipe_cloexec(int ends[2]) {
#if defined(__linux__)
    return pipe2(ends, O_CLOEXEC);
#else
    // No pipe2: close-on-exec is set right after, which a concurrent spawn could race.
    if (pipe(ends) != 0) return -1;
    fcntl(ends[0], F_SETFD, FD_CLOEXEC);
    fcntl(ends[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}
