import IOTensor

/// OpenCL C for the sliding-window operations of convolutions and poolings, built once per
/// element type.
///
/// Every kernel runs one work item per element it writes, so that no two items write the same
/// element and no atomics are needed: `im2col` and the poolings one per output element,
/// `col2im` and the pooling gradients one per input element, each gathering from the windows
/// that cover it (at most ⌈kh/stride⌉·⌈kw/stride⌉ of them) instead of scattering into it.
/// Neighbouring items write neighbouring elements.
enum WindowSource {
    /// The window's geometry, as every kernel takes it.
    static let geometry = "int batch, int channels, int height, int width, int kh, int kw, int stride, int padding, int oh, int ow"

    static func program(for dtype: DType) -> String {
        let type = dtype == .float64 ? "double" : "float"
        return """
            \(dtype == .float64 ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable" : "")
            #define T \(type)

            // Calls BODY(oy, ox, ky, kx) for every window (oy, ox) whose element (ky, kx) is input (y, x).
            #define FOR_EACH_COVERING_WINDOW(BODY) \\
                for (int ky = 0; ky < kh; ++ky) { \\
                    const int ty = y + padding - ky; \\
                    if (ty < 0 || ty % stride != 0 || ty / stride >= oh) continue; \\
                    const int oy = ty / stride; \\
                    for (int kx = 0; kx < kw; ++kx) { \\
                        const int tx = x + padding - kx; \\
                        if (tx < 0 || tx % stride != 0 || tx / stride >= ow) continue; \\
                        const int ox = tx / stride; \\
                        BODY \\
                    } \\
                }

            __kernel void im2col(\(geometry), __global const T *input, long inputOffset, __global T *output) {
                const long gid = get_global_id(0);
                const int patch = channels * kh * kw;
                const long positions = (long)oh * ow;
                if (gid >= batch * positions * patch) return;
                const int q = gid % patch;
                const long row = gid / patch;
                const int position = row % positions;
                const long n = row / positions;
                const int kx = q % kw, ky = (q / kw) % kh, c = q / (kw * kh);
                const int y = (position / ow) * stride - padding + ky;
                const int x = (position % ow) * stride - padding + kx;
                const bool inside = y >= 0 && y < height && x >= 0 && x < width;
                output[gid] = inside ? input[inputOffset + ((n * channels + c) * height + y) * width + x] : (T)0;
            }

            __kernel void col2im(\(geometry), __global const T *columns, long columnsOffset, __global T *output) {
                const long gid = get_global_id(0);
                if (gid >= (long)batch * channels * height * width) return;
                const int x = gid % width, y = (gid / width) % height, c = (gid / ((long)width * height)) % channels;
                const long n = gid / ((long)width * height * channels);
                const int patch = channels * kh * kw;
                __global const T *image = columns + columnsOffset + n * oh * ow * patch;
                T sum = 0;
                FOR_EACH_COVERING_WINDOW(sum += image[(long)(oy * ow + ox) * patch + (c * kh + ky) * kw + kx];)
                output[gid] = sum;
            }

            // Pooling windows see each channel as a batch entry (channels == 1): plane = n. Item gid
            // pools the window whose top-left corner (in the unpadded input) is (top, left).
            #define POOLED_WINDOW \\
                const long gid = get_global_id(0); \\
                const long planeOutputs = (long)oh * ow; \\
                if (gid >= batch * planeOutputs) return; \\
                const long plane = gid / planeOutputs; \\
                const int top = (gid % planeOutputs) / ow * stride - padding; \\
                const int left = (gid % ow) * stride - padding;

            __kernel void max_pool(\(geometry), __global const T *input, long inputOffset, __global T *output,
                                   __global long *winners) {
                POOLED_WINDOW
                T best = -INFINITY;
                long source = -1;
                for (int y = max(top, 0); y < min(top + kh, height); ++y) {
                    for (int x = max(left, 0); x < min(left + kw, width); ++x) {
                        const long index = (plane * height + y) * width + x;
                        const T candidate = input[inputOffset + index];
                        // The first maximum, scanning row by row, as the CPU loop does.
                        if (source < 0 || candidate > best) { best = candidate; source = index; }
                    }
                }
                output[gid] = best;
                winners[gid] = source;
            }

            __kernel void max_pool_gradient(\(geometry), __global const T *upstream, long upstreamOffset,
                                            __global const long *winners, long winnersOffset, __global T *output) {
                const long gid = get_global_id(0);
                if (gid >= (long)batch * height * width) return;
                const int x = gid % width, y = (gid / width) % height;
                const long plane = gid / ((long)width * height);
                T sum = 0;
                FOR_EACH_COVERING_WINDOW(
                    const long w = (plane * oh + oy) * ow + ox;
                    if (winners[winnersOffset + w] == gid) sum += upstream[upstreamOffset + w];)
                output[gid] = sum;
            }

            __kernel void avg_pool(\(geometry), __global const T *input, long inputOffset, __global T *output) {
                POOLED_WINDOW
                T sum = 0;
                for (int y = max(top, 0); y < min(top + kh, height); ++y)
                    for (int x = max(left, 0); x < min(left + kw, width); ++x) sum += input[inputOffset + (plane * height + y) * width + x];
                output[gid] = sum / (T)(kh * kw);
            }

            __kernel void avg_pool_gradient(\(geometry), __global const T *upstream, long upstreamOffset, __global T *output) {
                const long gid = get_global_id(0);
                if (gid >= (long)batch * height * width) return;
                const int x = gid % width, y = (gid / width) % height;
                const long plane = gid / ((long)width * height);
                T sum = 0;
                FOR_EACH_COVERING_WINDOW(sum += upstream[upstreamOffset + (plane * oh + oy) * ow + ox];)
                output[gid] = sum / (T)(kh * kw);
            }
            """
    }

    /// The kernel of `operation`, and how many elements its items write.
    static func kernel(_ operation: WindowOperation, _ window: Window2D) -> (name: String, items: Int) {
        let inputs = window.batch * window.channels * window.height * window.width
        let pooled = window.batch * window.positions
        switch operation {
        case .im2col: return ("im2col", window.batch * window.positions * window.patch)
        case .col2im: return ("col2im", inputs)
        case .maxPool: return ("max_pool", pooled)
        case .maxPoolGradient: return ("max_pool_gradient", inputs)
        case .avgPool: return ("avg_pool", pooled)
        case .avgPoolGradient: return ("avg_pool_gradient", inputs)
        }
    }
}
