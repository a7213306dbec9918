import IOTensor

/// OpenCL C for reductions and softmax on CPU devices, built once per element type.
///
/// PoCL runs a work group's barriers as loops over its items, so the tree reductions of
/// ``ReductionSource`` spend most of their time synchronising there (5.5 GB/s for a sum where the
/// CPU backend reaches 57). These kernels use no local memory and no barriers: each work item
/// walks its own run of memory with 16-wide vector loads, the way a CPU loop would, and keeps 16
/// partial results in a vector register. Rows are cut into parts whose partial results a second
/// pass of the same kernel combines; columns go 16 at a time; softmax takes one row per item.
/// Sums are Kahan-compensated lane by lane; maxima and minima record NaN in a lane mask, so that
/// NaN wins as on the CPU. Argmax and argmin keep the tree kernels.
enum VectorReductionSource {
    /// The lanes of each vector load.
    static let width = 16

    static func program(for dtype: DType) -> String {
        let (type, _, isFloat) = ElementwiseSource.types(dtype)
        let vector = "\(type)\(width)"
        let (lowest, highest) = ReductionSource.limits(dtype)
        let mask = dtype == .float64 ? "long\(width)" : "int\(width)"
        var source = """
            \(dtype == .float64 ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable" : "")
            #define T \(type)
            #define TV \(vector)
            #define VW \(width)
            #define VLOAD vload\(width)
            #define VSTORE vstore\(width)
            #define MASK \(mask)
            // op: 0 sum, 1 maximum, 2 minimum
            inline T identity(int op) { return op == 0 ? (T)0 : (op == 1 ? (T)\(lowest) : (T)\(highest)); }

            """
        if isFloat {
            source += """
                #define IS_NAN(v) isnan(v)
                #define VMAX(a, b) fmax(a, b)
                #define VMIN(a, b) fmin(a, b)
                // Kahan: add y to (sum, carry).
                #define ADD(sum, carry, y) { const TV _y = (y) - carry; const TV _t = sum + _y; carry = (_t - sum) - _y; sum = _t; }
                #define ADD1(sum, carry, y) { const T _y = (y) - carry; const T _t = sum + _y; carry = (_t - sum) - _y; sum = _t; }

                """
        } else {
            source += """
                #define IS_NAN(v) ((MASK)0)
                #define VMAX(a, b) max(a, b)
                #define VMIN(a, b) min(a, b)
                #define ADD(sum, carry, y) { sum += (y); }
                #define ADD1(sum, carry, y) { sum += (y); }

                """
        }
        source += """
            // Combines `count` elements at x with stride `step` (1 for rows, the row length for
            // columns) into one value, 16 lanes at a time where they lie next to each other.
            inline T reduce_run(__global const T *x, long count, int op) {
                TV acc = (TV)identity(op), carry = (TV)0;
                MASK nan = (MASK)0;
                long i = 0;
                for (; i + VW <= count; i += VW) {
                    const TV v = VLOAD(0, x + i);
                    if (op == 0) ADD(acc, carry, v)
                    else { nan |= IS_NAN(v); acc = op == 1 ? VMAX(acc, v) : VMIN(acc, v); }
                }
                T lanes[VW], carries[VW];
                VSTORE(acc, 0, lanes);
                VSTORE(carry, 0, carries);
                T total = identity(op), compensation = 0;
                bool sawNaN = any(nan);
                for (int l = 0; l < VW; ++l) {
                    if (op == 0) ADD1(total, compensation, lanes[l] - carries[l])
                    else total = op == 1 ? max(total, lanes[l]) : min(total, lanes[l]);
                }
                for (; i < count; ++i) {
                    const T v = x[i];
                    if (op == 0) ADD1(total, compensation, v)
                    else { sawNaN = sawNaN || v != v; total = op == 1 ? max(total, v) : min(total, v); }
                }
                return sawNaN ? (T)NAN : total;
            }

            // Rows: item (part, row) reduces elements [part·chunk, min(length, (part+1)·chunk)) of row `row`
            // into values[row·parts + part].
            __kernel void reduce_rows_vector(__global const T *input, long offset, long length, long chunk, long parts, int op,
                                             __global T *values) {
                const long part = get_global_id(0), row = get_global_id(1);
                if (part >= parts) return;
                const long start = part * chunk;
                const long count = min(length, start + chunk) - start;
                values[row * parts + part] = count > 0 ? reduce_run(input + offset + row * length + start, count, op) : identity(op);
            }

            // Columns of [outer, length, inner]: item (block, o) reduces columns 16·block .. +15 of slice o.
            __kernel void reduce_columns_vector(__global const T *input, long offset, long outer, long length, long inner, int op,
                                                __global T *values) {
                const long j = get_global_id(0) * VW, o = get_global_id(1);
                if (j >= inner || o >= outer) return;
                __global const T *x = input + offset + o * length * inner + j;
                if (j + VW <= inner) {
                    TV acc = (TV)identity(op), carry = (TV)0;
                    MASK nan = (MASK)0;
                    for (long l = 0; l < length; ++l) {
                        const TV v = VLOAD(0, x + l * inner);
                        if (op == 0) ADD(acc, carry, v)
                        else { nan |= IS_NAN(v); acc = op == 1 ? VMAX(acc, v) : VMIN(acc, v); }
                    }
                    \(isFloat ? "acc = select(acc, (TV)NAN, nan);" : "")
                    VSTORE(acc, 0, values + o * inner + j);
                    return;
                }
                for (long c = j; c < inner; ++c) {
                    T acc = identity(op), carry = 0;
                    bool sawNaN = false;
                    for (long l = 0; l < length; ++l) {
                        const T v = x[l * inner + (c - j)];
                        if (op == 0) ADD1(acc, carry, v)
                        else { sawNaN = sawNaN || v != v; acc = op == 1 ? max(acc, v) : min(acc, v); }
                    }
                    values[o * inner + c] = sawNaN ? (T)NAN : acc;
                }
            }

            """
        if isFloat {
            source += """
                // Softmax: one row per item, vector loads; shifted by the row's maximum.
                __kernel void softmax_rows_vector(__global const T *input, long offset, long rows, long length, int logarithm,
                                                  __global T *output) {
                    const long r = get_global_id(0);
                    if (r >= rows) return;
                    __global const T *x = input + offset + r * length;
                    __global T *y = output + r * length;
                    const T peak = reduce_run(x, length, 1);
                    // A row of -inf has no finite peak, and a NaN row stays NaN; shifting by 0 keeps both so.
                    const T shift = isfinite(peak) ? peak : (T)0;
                    TV sum = (TV)0;
                    long i = 0;
                    for (; i + VW <= length; i += VW) sum += exp(VLOAD(0, x + i) - shift);
                    T lanes[VW];
                    VSTORE(sum, 0, lanes);
                    T total = 0;
                    for (int l = 0; l < VW; ++l) total += lanes[l];
                    for (; i < length; ++i) total += exp(x[i] - shift);
                    if (logarithm) {
                        const T logTotal = log(total);
                        for (i = 0; i + VW <= length; i += VW) VSTORE(VLOAD(0, x + i) - shift - logTotal, 0, y + i);
                        for (; i < length; ++i) y[i] = x[i] - shift - logTotal;
                    } else {
                        const T scale = (T)1 / total;
                        for (i = 0; i + VW <= length; i += VW) VSTORE(exp(VLOAD(0, x + i) - shift) * scale, 0, y + i);
                        for (; i < length; ++i) y[i] = exp(x[i] - shift) * scale;
                    }
                }

                """
        }
        return source
    }
}
