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
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t count) {
    uint64_t c = ~crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        count -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (count--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#endif

typedef uint32_t (*crc_function)(uint32_t, const unsigned char *, size_t);
static crc_function chosen = 0;
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;

static void choose(void) {
    build_table();
#if defined(__x86_64__)
    __builtin_cpu_init();
    chosen = __builtin_cpu_supports("sse4.2") ? crc32c_sse42 : crc32c_table;
#else
    chosen = crc32c_table;
#endif
}

uint32_t iocompute_crc32c(uint32_t crc, const void *bytes, size_t count) {
    pthread_once(&choose_once, choose);
    return chosen(crc, (const unsigned char *)bytes, count);
}
