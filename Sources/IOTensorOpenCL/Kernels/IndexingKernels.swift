import IOTensor

/// OpenCL C for the indexing operations that move elements without arithmetic: PyTorch's
/// `gather` and the row copies that concatenation is made of, one work item per element written,
/// for elements of 1, 4 or 8 bytes (moved as unsigned integers of that width, whatever their type).
enum IndexingSource {
    /// The most dimensions a gather handles.
    static let maximumRank = 8

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
