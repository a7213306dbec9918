#ifndef CSHAREDMEMORY_H
#define CSHAREDMEMORY_H

#include <stddef.h>

/// An anonymous shared-memory file (`memfd_create`, close-on-exec) of `size` bytes, named
/// `name` in /proc listings; -1 with errno set on failure. Linux only (elsewhere: -1, ENOSYS).
int iocompute_memfd(const char *name, size_t size);

/// Grows or shrinks a mapping, moving it when it must (`mremap` with MREMAP_MAYMOVE); NULL with
/// errno set on failure.
void *iocompute_remap(void *address, size_t oldSize, size_t newSize);

/// Makes glibc's malloc serve allocations below `mmapThreshold` from its heap and keep up to
/// `trimThreshold` bytes of freed heap instead of returning them to the kernel (`mallopt`), so
/// that large buffers allocated again and again are not faulted in afresh each time. Returns 1
/// on success, 0 where it cannot (another C library).
int iocompute_keep_freed_memory(size_t mmapThreshold, size_t trimThreshold);

#endif
