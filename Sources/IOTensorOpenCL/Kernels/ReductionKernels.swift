import IOTensor

/// OpenCL C for reductions and softmax, built once per element type.
///
/// A reduction reads a contiguous input as `[outer, length, inner]`. When `inner` is 1 (rows),
/// each row is cut into parts and a work group reduces each part as a tree in local memory; a row
/// cut into several parts takes a second pass over the parts' results. When `inner` is larger
/// (columns), one work item reduces each output, so that neighbouring items read neighbouring
/// elements. Sums of columns use Kahan compensation, so that a long column of floats keeps its
/// accuracy. Maximum and minimum let NaN win; argmax and argmin return the first NaN or the first
/// best element, as on the CPU.
enum ReductionSource {
    /// Work-group size of the row reductions and the long-row softmax (a power of two).
    static let groupSize = 256

    /// OpenCL C for the identities of maxima and minima of `dtype`: its lowest and highest values.
    static func limits(_ dtype: DType) -> (lowest: String, highest: String) {
        switch dtype {
        case .float32, .float64: ("-INFINITY", "INFINITY")
        case .int32: ("INT_MIN", "INT_MAX")
        case .int64: ("LONG_MIN", "LONG_MAX")
        case .bool, .uint8: ("0", "255")
        }
    }

    static func program(for dtype: DType) -> String {
        let (type, _, isFloat) = ElementwiseSource.types(dtype)
        let (lowest, highest) = limits(dtype)
        var source = """
            \(dtype == .float64 ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable" : "")
            #define T \(type)
            #define WG \(groupSize)
            // op: 0 sum, 1 maximum, 2 minimum, 3 argmax, 4 argmin
            inline T identity(int op) { return op == 0 ? (T)0 : ((op == 1 || op == 3) ? (T)\(lowest) : (T)\(highest)); }
            inline T combine(int op, T a, T b) {
                if (op == 0) return a + b;
                if (a != a) return a;
                if (b != b) return b;
                return op == 1 ? (a > b ? a : b) : (a < b ? a : b);
            }
            // Whether (b, ib) beats (a, ia) for argmax (isMax) or argmin: the first NaN, else the
            // first best.
            inline bool beats(bool isMax, T a, long ia, T b, long ib) {
                if (b != b) return a == a || ib < ia;
                if (a != a) return false;
                if (b == a) return ib < ia;
                return isMax ? b > a : b < a;
            }

            // Rows: group (part, row) reduces elements [part*chunk, min(length, (part+1)*chunk))
            // of row `row`; `indicesIn` (when hasIndices) gives each element's index for a second
            // pass of argmax/argmin. Writes values[row*parts+part] and indices likewise.
            __kernel void reduce_rows(__global const T *input, long offset, long length, long chunk, int parts, int op,
                                      __global const long *indicesIn, int hasIndices,
                                      __global T *values, __global long *indices, int writeValues, int writeIndices) {
                __local T vals[WG];
                __local long idx[WG];
                const int lid = get_local_id(0);
                const long part = get_group_id(0);
                const long row = get_global_id(1);
                const long start = part * chunk;
                const long end = min(length, start + chunk);
                __global const T *x = input + offset + row * length;
                const bool arg = op >= 3;
                const bool isMax = op == 3;
                T acc = identity(op);
                long best = LONG_MAX;
                for (long i = start + lid; i < end; i += WG) {
                    T v = x[i];
                    if (arg) {
                        long iv = hasIndices ? indicesIn[row * length + i] : i;
                        if (beats(isMax, acc, best, v, iv)) { acc = v; best = iv; }
                    } else {
                        acc = combine(op, acc, v);
                    }
                }
                vals[lid] = acc;
                idx[lid] = best;
                barrier(CLK_LOCAL_MEM_FENCE);
                for (int s = WG / 2; s > 0; s >>= 1) {
                    if (lid < s) {
                        if (arg) {
                            if (beats(isMax, vals[lid], idx[lid], vals[lid + s], idx[lid + s])) { vals[lid] = vals[lid + s]; idx[lid] = idx[lid + s]; }
                        } else {
                            vals[lid] = combine(op, vals[lid], vals[lid + s]);
                        }
                    }
                    barrier(CLK_LOCAL_MEM_FENCE);
                }
                if (lid == 0) {
                    if (writeValues) values[row * parts + part] = vals[0];
                    if (writeIndices) indices[row * parts + part] = idx[0];
                }
            }

            // Columns: item (j, o) reduces input[o][0..length)[j].
            __kernel void reduce_columns(__global const T *input, long offset, long outer, long length, long inner, int op,
                                         __global T *values, __global long *indices, int writeValues) {
                const long j = get_global_id(0);
                const long o = get_global_id(1);
                if (j >= inner || o >= outer) return;
                __global const T *x = input + offset + o * length * inner + j;
                const bool isMax = op == 3;
                if (op >= 3) {
                    T best = x[0];
                    long at = 0;
                    for (long l = 1; l < length; ++l) { T v = x[l * inner]; if (beats(isMax, best, at, v, l)) { best = v; at = l; } }
                    indices[o * inner + j] = at;
                    return;
                }
            \(isFloat ? """
                    if (op == 0) {
                        T sum = 0, carry = 0;
                        for (long l = 0; l < length; ++l) { T y = x[l * inner] - carry; T t = sum + y; carry = (t - sum) - y; sum = t; }
                        values[o * inner + j] = sum;
                        return;
                    }
            """ : "")
                T acc = identity(op);
                for (long l = 0; l < length; ++l) acc = combine(op, acc, x[l * inner]);
                values[o * inner + j] = acc;
            }

            """
        if isFloat {
            source += """
                // Softmax of short rows: one work item per row.
                __kernel void softmax_rows_item(__global const T *input, long offset, long rows, long length, int logarithm, __global T *output) {
                    const long r = get_global_id(0);
                    if (r >= rows) return;
                    __global const T *x = input + offset + r * length;
                    __global T *y = output + r * length;
                    T peak = -INFINITY;
                    bool nan = false;
                    for (long i = 0; i < length; ++i) { nan = nan || x[i] != x[i]; peak = fmax(peak, x[i]); }
                    // A row of -inf has no finite peak; shifting by 0 keeps it NaN-free.
                    T shift = (isfinite(peak) && !nan) ? peak : (T)0;
                    T total = 0;
                    for (long i = 0; i < length; ++i) total += exp(x[i] - shift);
                    if (logarithm) {
                        T logTotal = log(total);
                        for (long i = 0; i < length; ++i) y[i] = x[i] - shift - logTotal;
                    } else {
                        T scale = (T)1 / total;
                        for (long i = 0; i < length; ++i) y[i] = exp(x[i] - shift) * scale;
                    }
                }

                // Softmax of long rows: one work group per row, tree reductions for the peak and the sum.
                __kernel void softmax_rows_group(__global const T *input, long offset, long length, int logarithm, __global T *output) {
                    __local T scratch[WG];
                    __local int sawNaN;
                    const int lid = get_local_id(0);
                    const long r = get_group_id(0);
                    __global const T *x = input + offset + r * length;
                    __global T *y = output + r * length;
                    if (lid == 0) sawNaN = 0;
                    barrier(CLK_LOCAL_MEM_FENCE);
                    T peak = -INFINITY;
                    for (long i = lid; i < length; i += WG) { if (x[i] != x[i]) sawNaN = 1; peak = fmax(peak, x[i]); }
                    scratch[lid] = peak;
                    barrier(CLK_LOCAL_MEM_FENCE);
                    for (int s = WG / 2; s > 0; s >>= 1) { if (lid < s) scratch[lid] = fmax(scratch[lid], scratch[lid + s]); barrier(CLK_LOCAL_MEM_FENCE); }
                    T top = scratch[0];
                    T shift = (isfinite(top) && !sawNaN) ? top : (T)0;
                    barrier(CLK_LOCAL_MEM_FENCE);
                    T total = 0;
                    for (long i = lid; i < length; i += WG) total += exp(x[i] - shift);
                    scratch[lid] = total;
                    barrier(CLK_LOCAL_MEM_FENCE);
                    for (int s = WG / 2; s > 0; s >>= 1) { if (lid < s) scratch[lid] += scratch[lid + s]; barrier(CLK_LOCAL_MEM_FENCE); }
                    T sum = scratch[0];
                    if (logarithm) {
                        T logTotal = log(sum);
                        for (long i = lid; i < length; i += WG) y[i] = x[i] - shift - logTotal;
                    } else {
                        T scale = (T)1 / sum;
                        for (long i = lid; i < length; i += WG) y[i] = exp(x[i] - shift) * scale;
                    }
                }

                """
        }
        return source
    }
}
