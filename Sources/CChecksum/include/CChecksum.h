#ifndef CCHECKSUM_H
#define CCHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli) of `count` bytes, continuing from `crc` (start with 0). Uses the SSE 4.2
/// instruction when the CPU has it (chosen once, at the first call) and a table otherwise.
uint32_t iocompute_crc32c(uint32_t crc, const void *bytes, size_t count);

#endif
