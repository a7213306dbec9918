#ifndef CCHECKSUM_H
#define CCHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli) of `count` bytes, continuing from `crc` (start with 0). Uses the SSE 4.2
/// instruction when the CPU has it (chosen once, at the first call) and a table otherwise.
uint32_t iocompute_crc32c(uint32_t crc, const void *bytes, size_t count);

/// The same from tables only, whatever the CPU: the reference the fast path is tested against.
uint32_t iocompute_crc32c_portable(uint32_t crc, const void *bytes, size_t count);

/// Copies `count` bytes from `source` to `destination` (which must not overlap) and returns
/// their CRC-32C, continuing from `crc`, in one pass over memory.
uint32_t iocompute_crc32c_copy(uint32_t crc, void *destination, const void *source, size_t count);

#endif
