#include "CChecksum.h"

#include <pthread.h>
#include <string.h>

// The reflected Castagnoli polynomial.
#define POLY 0x82f63b78u

static uint32_t table[8][256];

static void build_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ POLY : crc >> 1;
        table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = table[0][crc & 0xff] ^ (crc >> 8);
            table[k][n] = crc;
        }
    }
}

// Slicing-by-8: eight bytes per step from eight tables.
static uint32_t crc32c_table(uint32_t crc, const unsigned char *p, size_t count) {
    crc = ~crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        word ^= crc;
        crc = table[7][word & 0xff] ^ table[6][(word >> 8) & 0xff] ^ table[5][(word >> 16) & 0xff] ^
              table[4][(word >> 24) & 0xff] ^ table[3][(word >> 32) & 0xff] ^ table[2][(word >> 40) & 0xff] ^
              table[1][(word >> 48) & 0xff] ^ table[0][word >> 56];
        p += 8;
        count -= 8;
    }
    while (count--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
// The CRC instruction takes three cycles but can start one every cycle, so one stream of
// dependent steps uses a third of it. Blocks of 3 × STREAM bytes go as three interleaved
// streams, each from 0, joined by the linearity of CRCs: the register after A·B is the register
// after A advanced over |B| zero bytes, xor the register after B alone. Advancing over STREAM
// zero bytes is a fixed linear map on the 32-bit register, applied from four byte tables. What
// is left after the long blocks goes in blocks of 3 × SHORT_STREAM bytes the same way (pieces
// of a TLS record's size would otherwise go mostly as one stream).
#define STREAM 4096
#define SHORT_STREAM 512
static uint32_t advance[4][256];
static uint32_t advance_short[4][256];

static uint32_t shift(const uint32_t map[4][256], uint32_t crc) {
    return map[0][crc & 0xff] ^ map[1][(crc >> 8) & 0xff] ^ map[2][(crc >> 16) & 0xff] ^ map[3][crc >> 24];
}

// The map for `stream` zero bytes, from its effect on each bit of the register.
static void build_advance(uint32_t map[4][256], int stream) {
    uint32_t basis[32];
    for (int bit = 0; bit < 32; bit++) {
        uint32_t crc = 1u << bit;
        for (int n = 0; n < stream; n++) crc = table[0][crc & 0xff] ^ (crc >> 8);
        basis[bit] = crc;
    }
    for (int position = 0; position < 4; position++) {
        for (uint32_t byte = 0; byte < 256; byte++) {
            uint32_t value = 0;
            for (int bit = 0; bit < 8; bit++)
                if (byte & (1u << bit)) value ^= basis[position * 8 + bit];
            map[position][byte] = value;
        }
    }
}

// One block of three interleaved streams of `stream` bytes, each word also stored to
// `destination` when `copy` is set; returns the register after the block.
__attribute__((target("sse4.2"), always_inline)) static inline uint64_t crc_block(
    uint64_t c, unsigned char *destination, const unsigned char *p, size_t stream, const uint32_t map[4][256], int copy) {
    uint64_t c1 = 0, c2 = 0;
    for (size_t offset = 0; offset < stream; offset += 8) {
        uint64_t w0, w1, w2;
        memcpy(&w0, p + offset, 8);
        memcpy(&w1, p + stream + offset, 8);
        memcpy(&w2, p + 2 * stream + offset, 8);
        if (copy) {
            memcpy(destination + offset, &w0, 8);
            memcpy(destination + stream + offset, &w1, 8);
            memcpy(destination + 2 * stream + offset, &w2, 8);
        }
        c = __builtin_ia32_crc32di(c, w0);
        c1 = __builtin_ia32_crc32di(c1, w1);
        c2 = __builtin_ia32_crc32di(c2, w2);
    }
    return shift(map, shift(map, (uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
}

// The whole walk: long blocks, short blocks, words, bytes; copying as it reads when `copy` is
// set, so that a copy and its checksum take one pass over memory instead of two.
__attribute__((target("sse4.2"), always_inline)) static inline uint32_t crc_walk(
    uint32_t crc, unsigned char *destination, const unsigned char *p, size_t count, int copy) {
    uint64_t c = ~crc;
    while (count >= 3 * STREAM) {
        c = crc_block(c, destination, p, STREAM, advance, copy);
        p += 3 * STREAM;
        if (copy) destination += 3 * STREAM;
        count -= 3 * STREAM;
    }
    while (count >= 3 * SHORT_STREAM) {
        c = crc_block(c, destination, p, SHORT_STREAM, advance_short, copy);
        p += 3 * SHORT_STREAM;
        if (copy) destination += 3 * SHORT_STREAM;
        count -= 3 * SHORT_STREAM;
    }
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        if (copy) {
            memcpy(destination, &word, 8);
            destination += 8;
        }
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        count -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (count--) {
        if (copy) *destination++ = *p;
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    }
    return ~c32;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t count) {
    return crc_walk(crc, 0, p, count, 0);
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_copy_sse42(uint32_t crc, unsigned char *destination,
                                                                     const unsigned char *p, size_t count) {
    return crc_walk(crc, destination, p, count, 1);
}
#endif

typedef uint32_t (*crc_function)(uint32_t, const unsigned char *, size_t);
typedef uint32_t (*copy_function)(uint32_t, unsigned char *, const unsigned char *, size_t);
static crc_function chosen = 0;
static copy_function chosen_copy = 0;

// Without the instruction: the copy, then the table over the copied bytes while they are hot.
static uint32_t crc32c_copy_table(uint32_t crc, unsigned char *destination, const unsigned char *p, size_t count) {
    enum { piece = 32 << 10 };
    while (count > 0) {
        size_t length = count < piece ? count : piece;
        memcpy(destination, p, length);
        crc = crc32c_table(crc, destination, length);
        destination += length;
        p += length;
        count -= length;
    }
    return crc;
}
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;

static void choose(void) {
    build_table();
#if defined(__x86_64__)
    __builtin_cpu_init();
    build_advance(advance, STREAM);
    build_advance(advance_short, SHORT_STREAM);
    chosen = __builtin_cpu_supports("sse4.2") ? crc32c_sse42 : crc32c_table;
    chosen_copy = __builtin_cpu_supports("sse4.2") ? crc32c_copy_sse42 : crc32c_copy_table;
#else
    chosen = crc32c_table;
    chosen_copy = crc32c_copy_table;
#endif
}

uint32_t iocompute_crc32c_portable(uint32_t crc, const void *bytes, size_t count) {
    pthread_once(&choose_once, choose);
    return crc32c_table(crc, (const unsigned char *)bytes, count);
}

uint32_t iocompute_crc32c(uint32_t crc, const void *bytes, size_t count) {
    pthread_once(&choose_once, choose);
    return chosen(crc, (const unsigned char *)bytes, count);
}

uint32_t iocompute_crc32c_copy(uint32_t crc, void *destination, const void *source, size_t count) {
    pthread_once(&choose_once, choose);
    return chosen_copy(crc, (unsigned char *)destination, (const unsigned char *)source, count);
}
