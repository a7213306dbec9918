import IOTensor

/// OpenCL C for large matrix products on CPU devices, with both operands packed first, as BLAS
/// libraries do.
///
/// The rows kernel (``MatrixProductSource/rowsProgram(for:aRowMajor:bRowMajor:)``) reads, at
/// each step of K, one element from each of 12 rows of A and 16 elements of a row of B. When a
/// row is 4 KiB long (1024 floats) those reads fall in one cache set, and beyond the cache's
/// ways every step misses. Here `pack_a` first lays A out as panels of 12 rows, the 12 values of
/// one step of K side by side, and `pack_b` lays B out as panels of 16 columns, one step of K
/// per 64 bytes; `gemm_packed` then reads both panels front to back, the order hardware
/// prefetchers follow. Panels are padded with zeros to whole blocks, so the inner loop has no
/// bounds; only the store is clipped.
enum PackedMatrixProductSource {
    static var rowsPerItem: Int { MatrixProductSource.rowsPerItem }
    static var vectorWidth: Int { MatrixProductSource.rowsVectorWidth }

    static func program(for dtype: DType) -> String {
        let type = dtype == .float64 ? "double" : "float"
        return """
            \(dtype == .float64 ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable" : "")
            #define T \(type)
            #define RB \(rowsPerItem)
            #define VW \(vectorWidth)
            #define TV \(type)\(vectorWidth)
            #define VLOAD vload\(vectorWidth)
            #define VSTORE vstore\(vectorWidth)

            // Ap[b][block][k][i] = A[b][block·RB + i][k], zero past M.
            __kernel void pack_a(int M, int K, __global const T *A, long aOffset, long aRow, long aColumn, long aBatch,
                                 __global T *Ap) {
                const long blocks = (M + RB - 1) / RB;
                const long size = blocks * K * RB;
                const long gid = get_global_id(0), b = get_global_id(1);
                if (gid >= size) return;
                const int i = gid % RB;
                const long k = (gid / RB) % K;
                const long row = (gid / ((long)RB * K)) * RB + i;
                Ap[b * size + gid] = row < M ? A[aOffset + b * aBatch + row * aRow + k * aColumn] : (T)0;
            }

            // Bp[b][block][k][j] = B[b][k][block·VW + j], zero past N.
            __kernel void pack_b(int K, int N, __global const T *B, long bOffset, long bRow, long bColumn, long bBatch,
                                 __global T *Bp) {
                const long blocks = (N + VW - 1) / VW;
                const long size = blocks * K * VW;
                const long gid = get_global_id(0), b = get_global_id(1);
                if (gid >= size) return;
                const int j = gid % VW;
                const long k = (gid / VW) % K;
                const long column = (gid / ((long)VW * K)) * VW + j;
                Bp[b * size + gid] = column < N ? B[bOffset + b * bBatch + k * bRow + column * bColumn] : (T)0;
            }

            __kernel void gemm_packed(int M, int N, int K, __global const T *Ap, __global const T *Bp,
                                      __global T *C, long cOffset, long cRow, long cBatch, int accumulate) {
                const long columnBlock = get_global_id(0), rowBlock = get_global_id(1), b = get_global_id(2);
                const int column0 = columnBlock * VW, row0 = rowBlock * RB;
                if (column0 >= N || row0 >= M) return;
                const long aSize = (long)((M + RB - 1) / RB) * K * RB, bSize = (long)((N + VW - 1) / VW) * K * VW;
                __global const T *a = Ap + b * aSize + rowBlock * (long)K * RB;
                __global const T *p = Bp + b * bSize + columnBlock * (long)K * VW;
                TV acc[RB];
                for (int i = 0; i < RB; ++i) acc[i] = (TV)0;
                for (int k = 0; k < K; ++k) {
                    const TV bv = VLOAD(k, p);
                    for (int i = 0; i < RB; ++i) acc[i] = fma((TV)a[k * RB + i], bv, acc[i]);
                }
                C += cOffset + b * cBatch;
                const int rows = min(RB, M - row0), columns = min(VW, N - column0);
                for (int i = 0; i < rows; ++i) {
                    __global T *c = C + (long)(row0 + i) * cRow + column0;
                    if (columns == VW && !accumulate) {
                        VSTORE(acc[i], 0, c);
                    } else {
                        T out[VW];
                        VSTORE(acc[i], 0, out);
                        for (int j = 0; j < columns; ++j) c[j] = accumulate ? c[j] + out[j] : out[j];
                    }
                }
            }
            """
    }
}
