// Vectorized expf with run-time CPU dispatch.
//
// Swift compiles for the baseline x86-64 (SSE2, 4 floats a vector). The same loop built for AVX2
// (8 floats) or AVX-512 (16 floats) runs two to four times faster, and compilers only use those
// instruction sets inside functions marked for them, so this file builds the loop three times
// and picks one when first called, as NumPy does for its own SIMD loops.
#include "CTensorKernels.h"

#include <stdint.h>
#include <string.h>

// Cephes-style expf: x = n ln2 + r with Cody-Waite reduction, a degree-6 polynomial for e^r,
// and 2^n built in the exponent bits.
#define IOT_EXP_BODY                                                                   \
    for (ptrdiff_t i = 0; i < count; i++) {                                            \
        float v = x[i];                                                                \
        float c = v > 88.72283935546875f ? 88.72283935546875f                          \
                  : (v >= -87.33654022216797f ? v : -87.33654022216797f);              \
        float n = __builtin_roundevenf(c * 1.44269504088896341f);                      \
        float r = c - n * 0.693359375f;                                                \
        r = r - n * -2.12194440e-4f;                                                   \
        float r2 = r * r;                                                              \
        float p = 1.9875691500e-4f;                                                    \
        p = p * r + 1.3981999507e-3f;                                                  \
        p = p * r + 8.3334519073e-3f;                                                  \
        p = p * r + 4.1665795894e-2f;                                                  \
        p = p * r + 1.6666665459e-1f;                                                  \
        p = p * r + 5.0000001201e-1f;                                                  \
        p = p * r2 + r + 1.0f;                                                         \
        /* 2^n as two factors: n reaches 128 near the top of the range, past the    */ \
        /* largest exponent one float can hold, while p * 2^n is still finite.      */ \
        int32_t whole = (int32_t)n;                                                    \
        int32_t half = whole >> 1;                                                     \
        int32_t bits1 = (half + 127) << 23;                                            \
        int32_t bits2 = (whole - half + 127) << 23;                                    \
        float scale1, scale2;                                                          \
        memcpy(&scale1, &bits1, sizeof scale1);                                        \
        memcpy(&scale2, &bits2, sizeof scale2);                                        \
        float result = p * scale1 * scale2;                                            \
        result = v > 88.72283935546875f ? __builtin_inff() : result;                   \
        result = v < -87.33654022216797f ? 0.0f : result;                              \
        y[i] = v != v ? v : result;                                                    \
    }

#if defined(__x86_64__) && defined(__clang__)
__attribute__((target("avx512f,avx512vl,avx512bw,avx2,fma")))
static void exp_avx512(const float *restrict x, float *y, ptrdiff_t count) { IOT_EXP_BODY }

__attribute__((target("avx2,fma")))
static void exp_avx2(const float *restrict x, float *y, ptrdiff_t count) { IOT_EXP_BODY }
#endif

static void exp_baseline(const float *restrict x, float *y, ptrdiff_t count) { IOT_EXP_BODY }

typedef void (*exp_kernel)(const float *, float *, ptrdiff_t);

static exp_kernel choose_exp(void) {
#if defined(__x86_64__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
        return exp_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return exp_avx2;
#endif
    return exp_baseline;
}

void iot_exp_f32(const float *x, float *y, ptrdiff_t count) {
    // A benign race: every thread computes the same pointer, and pointer stores are atomic on the
    // platforms this builds for.
    static exp_kernel kernel = 0;
    exp_kernel chosen = __atomic_load_n(&kernel, __ATOMIC_RELAXED);
    if (!chosen) {
        chosen = choose_exp();
        __atomic_store_n(&kernel, chosen, __ATOMIC_RELAXED);
    }
    chosen(x, y, count);
}
