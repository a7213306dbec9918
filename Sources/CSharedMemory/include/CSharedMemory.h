#ifndef CSHAREDMEMORY_H
#define CSHAREDMEMORY_H

#include <stddef.h>
#include <spawn.h>

/// An anonymous shared-memory file (`memfd_create`, close-on-exec, sealing allowed) of `size`
/// bytes, named `name` in /proc listings; -1 with errno set on failure. Linux only (elsewhere:
/// -1, ENOSYS).
int iocompute_memfd(const char *name, size_t size);

/// Seals a memory file for good: its size can no longer change and nobody can write to it
/// (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL). Fails with EBUSY while a writable
/// shared mapping of it exists. 0 on success, -1 with errno set.
int iocompute_seal_readonly(int fd);

/// Whether a memory file carries the seals `iocompute_seal_readonly` adds: 1 yes, 0 no, -1 with
/// errno set when they cannot be read (not a memory file).
int iocompute_is_sealed_readonly(int fd);

/// Grows or shrinks a mapping, moving it when it must (`mremap` with MREMAP_MAYMOVE); NULL with
/// errno set on failure.
void *iocompute_remap(void *address, size_t oldSize, size_t newSize);

/// Makes glibc's malloc serve allocations below `mmapThreshold` from its heap and keep up to
/// `trimThreshold` bytes of freed heap instead of returning them to the kernel (`mallopt`), so
/// that large buffers allocated again and again are not faulted in afresh each time. Returns 1
/// on success, 0 where it cannot (another C library).
int iocompute_keep_freed_memory(size_t mmapThreshold, size_t trimThreshold);

/// Asks the kernel to back the whole pages of [address, address + length) with transparent huge
/// pages (Linux; a no-op elsewhere): a large buffer written once then costs a fault per 2 MiB
/// rather than per 4 KiB. Returns 1 when the advice was taken.
int iocompute_advise_huge_pages(void *address, size_t length);

/// A pipe whose two ends are close-on-exec from the start (`pipe2(O_CLOEXEC)` on Linux), so that
/// a process spawned by another thread meanwhile cannot inherit them. 0 on success.
int iocompute_pipe_cloexec(int ends[2]);

/// Adds to `actions` the closing of every descriptor from `lowest` up in the child: sockets and
/// files another thread opened without close-on-exec (SwiftNIO's accepted connections among
/// them) must not live on in a worker process, where they would keep a connection the parent
/// closed open. Returns 0, or an error number (ENOSYS where the C library lacks it).
int iocompute_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);

#endif
