#ifndef C_TENSOR_KERNELS_H
#define C_TENSOR_KERNELS_H

#include <stddef.h>

/// Writes expf(x[i]) to y[i] for i < count (y may equal x). Dispatches at run time to an AVX-512,
/// AVX2 or baseline build of one vectorizable loop. Relative error below 2 ulp; overflow gives
/// +inf, underflow 0, NaN stays NaN.
void iot_exp_f32(const float *x, float *y, ptrdiff_t count);

#endif
