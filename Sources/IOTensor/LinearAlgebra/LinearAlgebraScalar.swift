import CBLAS
import CLAPACKE

/// A scalar type with BLAS and LAPACK kernels: `Float` (the `s` routines) and `Double` (`d`).
///
/// The requirements are thin, typed wrappers over the C routines: matrices are row-major and
/// every LAPACK wrapper returns LAPACK's `info`. Tensor operations such as
/// ``Tensor/matmul(_:)`` and ``Tensor/solve(_:)`` call them; they are not meant to be called directly.
public protocol LinearAlgebraScalar: FloatingScalar {
    /// `cblas_?gemm`: C = α·op(A)·op(B) + β·C, row-major.
    static func _gemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32, alpha: Self,
        a: UnsafePointer<Self>, lda: Int32, b: UnsafePointer<Self>, ldb: Int32, beta: Self,
        c: UnsafeMutablePointer<Self>, ldc: Int32)
    /// `cblas_?gemv`: y = α·op(A)·x + β·y, row-major.
    static func _gemv(
        transpose: Bool, m: Int32, n: Int32, alpha: Self, a: UnsafePointer<Self>, lda: Int32,
        x: UnsafePointer<Self>, incx: Int32, beta: Self, y: UnsafeMutablePointer<Self>, incy: Int32)
    /// `cblas_?dot`.
    static func _dot(n: Int32, x: UnsafePointer<Self>, incx: Int32, y: UnsafePointer<Self>, incy: Int32) -> Self
    /// `LAPACKE_?gesv`.
    static func _gesv(
        n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Self>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>, b: UnsafeMutablePointer<Self>,
        ldb: Int32
    ) -> Int32
    /// `LAPACKE_?getrf`.
    static func _getrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>) -> Int32
    /// `LAPACKE_?getrf` on a column-major matrix (a row-major buffer read as its transpose).
    static func _getrfColumnMajor(m: Int32, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>) -> Int32
    /// `LAPACKE_?getrs` on column-major factors, solving with the transpose of the factored matrix.
    static func _getrsTransposedColumnMajor(
        n: Int32, nrhs: Int32, a: UnsafePointer<Self>, lda: Int32, ipiv: UnsafePointer<Int32>, b: UnsafeMutablePointer<Self>, ldb: Int32
    ) -> Int32
    /// `LAPACKE_?getri`.
    static func _getri(n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32, ipiv: UnsafePointer<Int32>) -> Int32
    /// `LAPACKE_?potrf` on the lower triangle.
    static func _potrfLower(n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32) -> Int32
    /// `LAPACKE_?geqrf`.
    static func _geqrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32, tau: UnsafeMutablePointer<Self>) -> Int32
    /// `LAPACKE_?orgqr`.
    static func _orgqr(m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Self>, lda: Int32, tau: UnsafePointer<Self>) -> Int32
    /// `LAPACKE_?gesdd`.
    static func _gesdd(
        jobz: CChar, m: Int32, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32, s: UnsafeMutablePointer<Self>,
        u: UnsafeMutablePointer<Self>, ldu: Int32, vt: UnsafeMutablePointer<Self>, ldvt: Int32
    ) -> Int32
    /// `LAPACKE_?syevd` with eigenvectors, lower triangle.
    static func _syevd(n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32, w: UnsafeMutablePointer<Self>) -> Int32
    /// `LAPACKE_?gelsd`.
    static func _gelsd(
        m: Int32, n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Self>, lda: Int32, b: UnsafeMutablePointer<Self>,
        ldb: Int32, s: UnsafeMutablePointer<Self>, rcond: Self, rank: UnsafeMutablePointer<Int32>
    ) -> Int32
}

private let rowMajor = Int32(LAPACK_ROW_MAJOR)
private let lower = CChar(UInt8(ascii: "L"))
private let vectors = CChar(UInt8(ascii: "V"))
private let columnMajor = Int32(LAPACK_COL_MAJOR)
private let transpose = CChar(UInt8(ascii: "T"))

@inline(__always) private func blasTranspose(_ transposed: Bool) -> CBLAS_TRANSPOSE { transposed ? CblasTrans : CblasNoTrans }

extension Float: LinearAlgebraScalar {
    public static func _gemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32, alpha: Float,
        a: UnsafePointer<Float>, lda: Int32, b: UnsafePointer<Float>, ldb: Int32, beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int32
    ) {
        cblas_sgemm(CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    public static func _gemv(
        transpose: Bool, m: Int32, n: Int32, alpha: Float, a: UnsafePointer<Float>, lda: Int32,
        x: UnsafePointer<Float>, incx: Int32, beta: Float, y: UnsafeMutablePointer<Float>, incy: Int32
    ) {
        cblas_sgemv(CblasRowMajor, blasTranspose(transpose), m, n, alpha, a, lda, x, incx, beta, y, incy)
    }
    public static func _dot(n: Int32, x: UnsafePointer<Float>, incx: Int32, y: UnsafePointer<Float>, incy: Int32) -> Float {
        cblas_sdot(n, x, incx, y, incy)
    }
    public static func _gesv(
        n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>,
        b: UnsafeMutablePointer<Float>, ldb: Int32
    ) -> Int32 {
        LAPACKE_sgesv(rowMajor, n, nrhs, a, lda, ipiv, b, ldb)
    }
    public static func _getrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>) -> Int32 {
        LAPACKE_sgetrf(rowMajor, m, n, a, lda, ipiv)
    }
    public static func _getrfColumnMajor(m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>)
        -> Int32
    {
        LAPACKE_sgetrf(columnMajor, m, n, a, lda, ipiv)
    }
    public static func _getrsTransposedColumnMajor(
        n: Int32, nrhs: Int32, a: UnsafePointer<Float>, lda: Int32, ipiv: UnsafePointer<Int32>, b: UnsafeMutablePointer<Float>, ldb: Int32
    ) -> Int32 {
        LAPACKE_sgetrs(columnMajor, transpose, n, nrhs, a, lda, ipiv, b, ldb)
    }
    public static func _getri(n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, ipiv: UnsafePointer<Int32>) -> Int32 {
        LAPACKE_sgetri(rowMajor, n, a, lda, ipiv)
    }
    public static func _potrfLower(n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32) -> Int32 {
        LAPACKE_spotrf(rowMajor, lower, n, a, lda)
    }
    public static func _geqrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, tau: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_sgeqrf(rowMajor, m, n, a, lda, tau)
    }
    public static func _orgqr(m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, tau: UnsafePointer<Float>) -> Int32
    {
        LAPACKE_sorgqr(rowMajor, m, n, k, a, lda, tau)
    }
    public static func _gesdd(
        jobz: CChar, m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, s: UnsafeMutablePointer<Float>,
        u: UnsafeMutablePointer<Float>, ldu: Int32, vt: UnsafeMutablePointer<Float>, ldvt: Int32
    ) -> Int32 {
        LAPACKE_sgesdd(rowMajor, jobz, m, n, a, lda, s, u, ldu, vt, ldvt)
    }
    public static func _syevd(n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, w: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_ssyevd(rowMajor, vectors, lower, n, a, lda, w)
    }
    public static func _gelsd(
        m: Int32, n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, b: UnsafeMutablePointer<Float>,
        ldb: Int32, s: UnsafeMutablePointer<Float>, rcond: Float, rank: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        LAPACKE_sgelsd(rowMajor, m, n, nrhs, a, lda, b, ldb, s, rcond, rank)
    }
}

extension Double: LinearAlgebraScalar {
    public static func _gemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32, alpha: Double,
        a: UnsafePointer<Double>, lda: Int32, b: UnsafePointer<Double>, ldb: Int32, beta: Double,
        c: UnsafeMutablePointer<Double>, ldc: Int32
    ) {
        cblas_dgemm(CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    public static func _gemv(
        transpose: Bool, m: Int32, n: Int32, alpha: Double, a: UnsafePointer<Double>, lda: Int32,
        x: UnsafePointer<Double>, incx: Int32, beta: Double, y: UnsafeMutablePointer<Double>, incy: Int32
    ) {
        cblas_dgemv(CblasRowMajor, blasTranspose(transpose), m, n, alpha, a, lda, x, incx, beta, y, incy)
    }
    public static func _dot(n: Int32, x: UnsafePointer<Double>, incx: Int32, y: UnsafePointer<Double>, incy: Int32) -> Double {
        cblas_ddot(n, x, incx, y, incy)
    }
    public static func _gesv(
        n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>,
        b: UnsafeMutablePointer<Double>, ldb: Int32
    ) -> Int32 {
        LAPACKE_dgesv(rowMajor, n, nrhs, a, lda, ipiv, b, ldb)
    }
    public static func _getrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>) -> Int32 {
        LAPACKE_dgetrf(rowMajor, m, n, a, lda, ipiv)
    }
    public static func _getrfColumnMajor(m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>)
        -> Int32
    {
        LAPACKE_dgetrf(columnMajor, m, n, a, lda, ipiv)
    }
    public static func _getrsTransposedColumnMajor(
        n: Int32, nrhs: Int32, a: UnsafePointer<Double>, lda: Int32, ipiv: UnsafePointer<Int32>, b: UnsafeMutablePointer<Double>, ldb: Int32
    ) -> Int32 {
        LAPACKE_dgetrs(columnMajor, transpose, n, nrhs, a, lda, ipiv, b, ldb)
    }
    public static func _getri(n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, ipiv: UnsafePointer<Int32>) -> Int32 {
        LAPACKE_dgetri(rowMajor, n, a, lda, ipiv)
    }
    public static func _potrfLower(n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32) -> Int32 {
        LAPACKE_dpotrf(rowMajor, lower, n, a, lda)
    }
    public static func _geqrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, tau: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dgeqrf(rowMajor, m, n, a, lda, tau)
    }
    public static func _orgqr(m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, tau: UnsafePointer<Double>)
        -> Int32
    {
        LAPACKE_dorgqr(rowMajor, m, n, k, a, lda, tau)
    }
    public static func _gesdd(
        jobz: CChar, m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, s: UnsafeMutablePointer<Double>,
        u: UnsafeMutablePointer<Double>, ldu: Int32, vt: UnsafeMutablePointer<Double>, ldvt: Int32
    ) -> Int32 {
        LAPACKE_dgesdd(rowMajor, jobz, m, n, a, lda, s, u, ldu, vt, ldvt)
    }
    public static func _syevd(n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, w: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dsyevd(rowMajor, vectors, lower, n, a, lda, w)
    }
    public static func _gelsd(
        m: Int32, n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, b: UnsafeMutablePointer<Double>,
        ldb: Int32, s: UnsafeMutablePointer<Double>, rcond: Double, rank: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        LAPACKE_dgelsd(rowMajor, m, n, nrhs, a, lda, b, ldb, s, rcond, rank)
    }
}
