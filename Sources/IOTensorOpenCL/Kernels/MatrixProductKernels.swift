import IOTensor

/// OpenCL C for batched matrix products C = A·B (+ C), tiled in local memory with register
/// blocking.
///
/// A work group of 16×16 items computes a 64×64 tile of C; each item holds a 4×4 block of C in
/// registers (``Tiling/standard``; ``Tiling/wide`` is 128×128 with 8×8 per item). The K
/// dimension is walked in slices of 16: the group stages a 64×16 slice of A and a 16×64 slice of
/// B in local memory (each item loading four elements at a time, with one `vload4` where
/// the four lie next to each other in memory and inside the matrix), then every item updates its
/// block from local memory. Elements outside the matrices load as zero and are never stored, so
/// any size works. A and B are read through their row, column and batch strides, so transposed
/// and broadcast operands need no copy; the third grid dimension is the batch.
///
/// CPU devices (PoCL) get a second kernel, ``rowsProgram(for:aRowMajor:bRowMajor:)``: no local
/// memory and no barriers, which such implementations run as loops over the work items. Each work
/// item keeps a block of ``rowsPerItem`` rows × ``rowsVectorWidth`` columns of C in vector
/// registers and walks K, loading a row segment of B with one vector load and each A element as
/// a broadcast: one fused multiply-add per row and step, the shape of a BLAS micro-kernel. The
/// caches do the tiling.
enum MatrixProductSource {
    static let rowsPerItem = 12
    static let rowsVectorWidth = 16
    static let rowsGroupWidth = 4

    static func rowsProgram(for dtype: DType, aRowMajor: Bool, bRowMajor: Bool) -> String {
        let type = dtype == .float64 ? "double" : "float"
        return """
            \(dtype == .float64 ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable" : "")
            #define T \(type)
            #define RB \(rowsPerItem)
            #define VW \(rowsVectorWidth)
            #define TV \(type)\(rowsVectorWidth)
            #define VLOAD vload\(rowsVectorWidth)
            #define VSTORE vstore\(rowsVectorWidth)
            // Column strides fixed at compile time when they are 1, so that loads along a row are plain.
            #define ACOL \(aRowMajor ? "1" : "aColumn")
            #define BCOL \(bRowMajor ? "1" : "bColumn")

            __kernel void gemm_rows(int M, int N, int K,
                                    __global const T *A, long aOffset, long aRow, long aColumn, long aBatch,
                                    __global const T *B, long bOffset, long bRow, long bColumn, long bBatch,
                                    __global T *C, long cOffset, long cRow, long cBatch, int accumulate) {
                const int column0 = get_global_id(0) * VW;
                const int row0 = get_global_id(1) * RB;
                const long batch = get_global_id(2);
                if (column0 >= N || row0 >= M) return;
                A += aOffset + batch * aBatch;
                B += bOffset + batch * bBatch;
                C += cOffset + batch * cBatch;
                const int rows = min(RB, M - row0);
                const int columns = min(VW, N - column0);
                // Rows past the end read the last row again and are never stored.
                __global const T *a[RB];
                for (int i = 0; i < RB; ++i) a[i] = A + (long)(row0 + min(i, rows - 1)) * aRow;
                TV acc[RB];
                for (int i = 0; i < RB; ++i) acc[i] = (TV)0;
                __global const T *b = B + (long)column0 * BCOL;
                if (BCOL == 1 && columns == VW) {
                    for (int k = 0; k < K; ++k) {
                        const TV bv = VLOAD(0, b + (long)k * bRow);
                        for (int i = 0; i < RB; ++i) acc[i] = fma((TV)a[i][(long)k * ACOL], bv, acc[i]);
                    }
                } else {
                    for (int k = 0; k < K; ++k) {
                        T lanes[VW];
                        for (int j = 0; j < VW; ++j) lanes[j] = j < columns ? b[(long)k * bRow + (long)j * BCOL] : (T)0;
                        const TV bv = VLOAD(0, lanes);
                        for (int i = 0; i < RB; ++i) acc[i] = fma((TV)a[i][(long)k * ACOL], bv, acc[i]);
                    }
                }
                for (int i = 0; i < rows; ++i) {
                    __global T *c = C + (long)(row0 + i) * cRow + column0;
                    T out[VW];
                    VSTORE(acc[i], 0, out);
                    for (int j = 0; j < columns; ++j) c[j] = accumulate ? c[j] + out[j] : out[j];
                }
            }
            """
    }

    /// The shape of a tiled kernel: a work group of `side`² items computes a `tile`² block of C,
    /// each item a `workPerItem`² block in registers, walking K in slices of `tileK`.
    struct Tiling: Hashable, Sendable {
        let tile: Int
        let workPerItem: Int
        let tileK = 16
        var side: Int { tile / workPerItem }

        /// The local memory a work group stages its slices of A and B in (`As` and `Bs`, each
        /// `tileK` × (`tile` + 1) elements).
        func localBytes(elementBytes: Int) -> Int { 2 * tileK * (tile + 1) * elementBytes }

        /// 64² tiles, 4² per item: 16 accumulators per item.
        static let standard = Tiling(tile: 64, workPerItem: 4)
        /// 128² tiles, 8² per item: 64 accumulators per item, twice the arithmetic per load from
        /// local memory — the shape GPU SGEMMs use for large products.
        static let wide = Tiling(tile: 128, workPerItem: 8)
    }

    static func program(for dtype: DType, tiling: Tiling = .standard) -> String {
        let type = dtype == .float64 ? "double" : "float"
        return """
            \(dtype == .float64 ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable" : "")
            #define T \(type)
            #define T4 \(type)4
            #define TSM \(tiling.tile)
            #define TSN \(tiling.tile)
            #define TSK \(tiling.tileK)
            #define WPT \(tiling.workPerItem)
            #define RTS (TSM / WPT)
            // Each item stages LOADS groups of four elements of each slice.
            #define LOADS ((TSM * TSK) / (RTS * RTS * 4))

            __kernel __attribute__((reqd_work_group_size(RTS, RTS, 1)))
            void gemm(int M, int N, int K,
                      __global const T *A, long aOffset, long aRow, long aColumn, long aBatch,
                      __global const T *B, long bOffset, long bRow, long bColumn, long bBatch,
                      __global T *C, long cOffset, long cRow, long cBatch, int accumulate) {
                __local T As[TSK][TSM + 1];
                __local T Bs[TSK][TSN + 1];
                const int tn = get_local_id(0);          // column within the tile, 0..RTS
                const int tm = get_local_id(1);          // row within the tile
                const int tid = tm * RTS + tn;           // 0..RTS*RTS
                const int tileRow = get_group_id(1) * TSM;
                const int tileColumn = get_group_id(0) * TSN;
                const long batch = get_global_id(2);
                A += aOffset + batch * aBatch;
                B += bOffset + batch * bBatch;
                C += cOffset + batch * cBatch;
                const bool aRowMajor = aColumn == 1;
                const bool bRowMajor = bColumn == 1;

                T acc[WPT][WPT];
                for (int i = 0; i < WPT; ++i) for (int j = 0; j < WPT; ++j) acc[i][j] = 0;

                for (int k0 = 0; k0 < K; k0 += TSK) {
                    // A slice: TSM rows x TSK columns; load l of an item takes row idx/4, columns (idx%4)*4 .. +3.
                    for (int l = 0; l < LOADS; ++l) {
                        const int idx = tid + l * RTS * RTS;
                        const int r = idx / (TSK / 4);
                        const int c = (idx % (TSK / 4)) * 4;
                        const int gr = tileRow + r;
                        const int gc = k0 + c;
                        if (gr < M && aRowMajor && gc + 3 < K) {
                            T4 v = vload4(0, A + gr * aRow + gc);
                            As[c][r] = v.x; As[c + 1][r] = v.y; As[c + 2][r] = v.z; As[c + 3][r] = v.w;
                        } else {
                            for (int q = 0; q < 4; ++q)
                                As[c + q][r] = (gr < M && gc + q < K) ? A[gr * aRow + (gc + q) * aColumn] : (T)0;
                        }
                    }
                    // B slice: TSK rows x TSN columns; load l takes row idx/(TSN/4), columns (idx%(TSN/4))*4 .. +3.
                    for (int l = 0; l < LOADS; ++l) {
                        const int idx = tid + l * RTS * RTS;
                        const int r = idx / (TSN / 4);
                        const int c = (idx % (TSN / 4)) * 4;
                        const int gr = k0 + r;
                        const int gc = tileColumn + c;
                        if (gr < K && bRowMajor && gc + 3 < N) {
                            T4 v = vload4(0, B + gr * bRow + gc);
                            Bs[r][c] = v.x; Bs[r][c + 1] = v.y; Bs[r][c + 2] = v.z; Bs[r][c + 3] = v.w;
                        } else {
                            for (int q = 0; q < 4; ++q)
                                Bs[r][c + q] = (gr < K && gc + q < N) ? B[gr * bRow + (gc + q) * bColumn] : (T)0;
                        }
                    }
                    barrier(CLK_LOCAL_MEM_FENCE);
                    for (int k = 0; k < TSK; ++k) {
                        T a[WPT], b[WPT];
                        for (int i = 0; i < WPT; ++i) a[i] = As[k][tm + i * RTS];
                        for (int j = 0; j < WPT; ++j) b[j] = Bs[k][tn + j * RTS];
                        for (int i = 0; i < WPT; ++i) for (int j = 0; j < WPT; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);
                    }
                    barrier(CLK_LOCAL_MEM_FENCE);
                }
                for (int i = 0; i < WPT; ++i) {
                    const int row = tileRow + tm + i * RTS;
                    if (row >= M) continue;
                    for (int j = 0; j < WPT; ++j) {
                        const int column = tileColumn + tn + j * RTS;
                        if (column >= N) continue;
                        __global T *c = C + row * cRow + column;
                        *c = accumulate ? *c + acc[i][j] : acc[i][j];
                    }
                }
            }
            """
    }
}
