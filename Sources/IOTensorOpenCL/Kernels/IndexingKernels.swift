import IOTensor

/// OpenCL C for the operations that move elements without arithmetic: PyTorch's `gather`, the row
/// copies that concatenation is made of, and the tiled transposing copy GPUs get for
/// `contiguous()` of a transposed view; one work item per element written, for elements of 1, 2,
/// 4 or 8 bytes (moved as unsigned integers of that width, whatever their type).
enum IndexingSource {
    /// The most dimensions a gather handles.
    static let maximumRank = 8
    /// The edge of a transposing copy's tile (a work group is `transposeTile`² items).
    static let transposeTile = 16

    /// The scatter-add as a gather, for a numeric element type: item t sums the values its
    /// compressed row of sources lists, in their order.
    static func scatterProgram(for dtype: DType) -> String {
        let (type, unsigned, _) = ElementwiseSource.types(dtype)
        return """
            \(dtype == .float64 ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable" : "")
            #define T \(type)
            #define UT \(unsigned)
            __kernel void scatter_add(long count, __global const T *values, long valuesOffset, __global const long *offsets,
                                      long offsetsOffset, __global const long *sources, long sourcesOffset, __global T *output) {
                const long t = get_global_id(0);
                if (t >= count) return;
                UT sum = 0;   // integers wrap, as on the CPU
                for (long j = offsets[offsetsOffset + t]; j < offsets[offsetsOffset + t + 1]; ++j)
                    sum += (UT)values[valuesOffset + sources[sourcesOffset + j]];
                output[t] = (T)sum;
            }
            """
    }

    static func program(elementSize: Int) -> String {
        let word =
            switch elementSize {
            case 1: "uchar"
            case 2: "ushort"
            case 4: "uint"
            default: "ulong"
            }
        return """
            #define W \(word)
            #define MAXR \(maximumRank)
            // The index tensor's shape and the input's strides; unused entries 0.
            typedef struct { long shape[MAXR]; long stride[MAXR]; } gather_layout_t;

            // out[i] = input[Σ coordinate(i, d)·stride[d]], the gathered axis taking indices[i]
            // (already checked and made non-negative) as its coordinate.
            __kernel void gather(long count, int rank, int axis, gather_layout_t L,
                                 __global const W *input, long inputOffset, __global const long *indices, long indicesOffset,
                                 __global W *output) {
                const long i = get_global_id(0);
                if (i >= count) return;
                long remainder = i, source = inputOffset;
                for (int d = rank - 1; d >= 0; --d) {
                    const long coordinate = remainder % L.shape[d];
                    remainder /= L.shape[d];
                    source += (d == axis ? indices[indicesOffset + i] : coordinate) * L.stride[d];
                }
                output[i] = input[source];
            }

            // Transposing copy for GPUs: out[b][r][c] = in[offset + b·batchStride + r + c·columnStride],
            // through a TILE×TILE tile in local memory, so that reads (along r) and writes (along c)
            // are both contiguous across neighbouring work items. The extra column avoids bank conflicts.
            #define TILE \(transposeTile)
            __kernel __attribute__((reqd_work_group_size(TILE, TILE, 1)))
            void transpose_tiled(long rows, long columns, __global const W *input, long inputOffset, long batchStride,
                                 long columnStride, __global W *output) {
                __local W tile[TILE][TILE + 1];
                const int lx = get_local_id(0), ly = get_local_id(1);
                const long r0 = get_group_id(0) * TILE, c0 = get_group_id(1) * TILE;
                const long b = get_global_id(2);
                const long r = r0 + lx, c = c0 + ly;
                if (r < rows && c < columns) tile[ly][lx] = input[inputOffset + b * batchStride + r + c * columnStride];
                barrier(CLK_LOCAL_MEM_FENCE);
                const long outRow = r0 + ly, outColumn = c0 + lx;
                if (outRow < rows && outColumn < columns) output[(b * rows + outRow) * columns + outColumn] = tile[lx][ly];
            }

            // Row r of `rows` contiguous rows of `length` elements goes to output + outputOffset + r·outputStride.
            __kernel void copy_rows(long rows, long length, __global const W *input, long inputOffset,
                                    __global W *output, long outputOffset, long outputStride) {
                const long i = get_global_id(0);
                if (i >= rows * length) return;
                const long r = i / length;
                output[outputOffset + r * outputStride + (i - r * length)] = input[inputOffset + i];
            }
            """
    }
}
