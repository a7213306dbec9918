import CBLAS
import CLAPACKE

/// A scalar type with BLAS and LAPACK kernels: `Float` (the `s` routines) and `Double` (`d`).
///
/// Tensor operations such as ``Tensor/matmul(_:)`` and ``Tensor/solve(_:)`` call the kernels; they
/// are not public API.
public protocol LinearAlgebraScalar: FloatingScalar {
    /// The BLAS and LAPACK routines for this type. Opaque: an implementation detail of IOTensor,
    /// which alone can make one.
    static var linearAlgebraKernels: LinearAlgebraKernels<Self> { get }
}

/// The BLAS and LAPACK routines that tensor operations call for `Float` or `Double`. Opaque
/// outside IOTensor, as ``NumericKernels`` is.
public struct LinearAlgebraKernels<Scalar: LinearAlgebraScalar>: Sendable {
    let routines: any LAPACKRoutines<Scalar>.Type
}

extension LinearAlgebraScalar {
    /// This type's BLAS and LAPACK routines.
    static var lapack: any LAPACKRoutines<Self>.Type { linearAlgebraKernels.routines }
}

/// Thin, typed wrappers over the C routines: matrices are row-major and every LAPACK wrapper
/// returns LAPACK's `info`.
protocol LAPACKRoutines<KernelScalar>: FloatingRoutines where KernelScalar: LinearAlgebraScalar {
    /// `cblas_?gemm`: C = α·op(A)·op(B) + β·C, row-major.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32, alpha: KernelScalar,
        a: UnsafePointer<KernelScalar>, lda: Int32, b: UnsafePointer<KernelScalar>, ldb: Int32, beta: KernelScalar,
        c: UnsafeMutablePointer<KernelScalar>, ldc: Int32)
    /// `cblas_?gemv`: y = α·op(A)·x + β·y, row-major.
    static func gemv(
        transpose: Bool, m: Int32, n: Int32, alpha: KernelScalar, a: UnsafePointer<KernelScalar>, lda: Int32,
        x: UnsafePointer<KernelScalar>, incx: Int32, beta: KernelScalar, y: UnsafeMutablePointer<KernelScalar>, incy: Int32)
    /// `cblas_?dot`.
    static func dot(n: Int32, x: UnsafePointer<KernelScalar>, incx: Int32, y: UnsafePointer<KernelScalar>, incy: Int32) -> KernelScalar
    /// `LAPACKE_?gesv`.
    static func gesv(
        n: Int32, nrhs: Int32, a: UnsafeMutablePointer<KernelScalar>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>,
        b: UnsafeMutablePointer<KernelScalar>,
        ldb: Int32
    ) -> Int32
    /// `LAPACKE_?getrf`.
    static func getrf(m: Int32, n: Int32, a: UnsafeMutablePointer<KernelScalar>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>) -> Int32
    /// `LAPACKE_?getrf` on a column-major matrix (a row-major buffer read as its transpose).
    static func getrfColumnMajor(m: Int32, n: Int32, a: UnsafeMutablePointer<KernelScalar>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>)
        -> Int32
    /// `LAPACKE_?getrs` on column-major factors, solving with the transpose of the factored matrix.
    static func getrsTransposedColumnMajor(
        n: Int32, nrhs: Int32, a: UnsafePointer<KernelScalar>, lda: Int32, ipiv: UnsafePointer<Int32>,
        b: UnsafeMutablePointer<KernelScalar>, ldb: Int32
    ) -> Int32
    /// `LAPACKE_?getri`.
    static func getri(n: Int32, a: UnsafeMutablePointer<KernelScalar>, lda: Int32, ipiv: UnsafePointer<Int32>) -> Int32
    /// `LAPACKE_?potrf` on the lower triangle.
    static func potrfLower(n: Int32, a: UnsafeMutablePointer<KernelScalar>, lda: Int32) -> Int32
    /// `LAPACKE_?geqrf`.
    static func geqrf(m: Int32, n: Int32, a: UnsafeMutablePointer<KernelScalar>, lda: Int32, tau: UnsafeMutablePointer<KernelScalar>)
        -> Int32
    /// `LAPACKE_?orgqr`.
    static func orgqr(m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<KernelScalar>, lda: Int32, tau: UnsafePointer<KernelScalar>)
        -> Int32
    /// `LAPACKE_?gesdd`.
    static func gesdd(
        jobz: CChar, m: Int32, n: Int32, a: UnsafeMutablePointer<KernelScalar>, lda: Int32, s: UnsafeMutablePointer<KernelScalar>,
        u: UnsafeMutablePointer<KernelScalar>, ldu: Int32, vt: UnsafeMutablePointer<KernelScalar>, ldvt: Int32
    ) -> Int32
    /// `LAPACKE_?syevd` with eigenvectors, lower triangle.
    static func syevd(n: Int32, a: UnsafeMutablePointer<KernelScalar>, lda: Int32, w: UnsafeMutablePointer<KernelScalar>) -> Int32
    /// `LAPACKE_?gelsd`.
    static func gelsd(
        m: Int32, n: Int32, nrhs: Int32, a: UnsafeMutablePointer<KernelScalar>, lda: Int32, b: UnsafeMutablePointer<KernelScalar>,
        ldb: Int32, s: UnsafeMutablePointer<KernelScalar>, rcond: KernelScalar, rank: UnsafeMutablePointer<Int32>
    ) -> Int32
}

private let rowMajor = Int32(LAPACK_ROW_MAJOR)
private let lower = CChar(UInt8(ascii: "L"))
private let vectors = CChar(UInt8(ascii: "V"))
private let columnMajor = Int32(LAPACK_COL_MAJOR)
private let transpose = CChar(UInt8(ascii: "T"))

@inline(__always) private func blasTranspose(_ transposed: Bool) -> CBLAS_TRANSPOSE { transposed ? CblasTrans : CblasNoTrans }

extension Float: LinearAlgebraScalar {
    public static var linearAlgebraKernels: LinearAlgebraKernels<Float> { LinearAlgebraKernels(routines: Float.self) }
}

extension Float: LAPACKRoutines {
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32, alpha: Float,
        a: UnsafePointer<Float>, lda: Int32, b: UnsafePointer<Float>, ldb: Int32, beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int32
    ) {
        cblas_sgemm(CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    static func gemv(
        transpose: Bool, m: Int32, n: Int32, alpha: Float, a: UnsafePointer<Float>, lda: Int32,
        x: UnsafePointer<Float>, incx: Int32, beta: Float, y: UnsafeMutablePointer<Float>, incy: Int32
    ) {
        cblas_sgemv(CblasRowMajor, blasTranspose(transpose), m, n, alpha, a, lda, x, incx, beta, y, incy)
    }
    static func dot(n: Int32, x: UnsafePointer<Float>, incx: Int32, y: UnsafePointer<Float>, incy: Int32) -> Float {
        cblas_sdot(n, x, incx, y, incy)
    }
    static func gesv(
        n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>,
        b: UnsafeMutablePointer<Float>, ldb: Int32
    ) -> Int32 {
        LAPACKE_sgesv(rowMajor, n, nrhs, a, lda, ipiv, b, ldb)
    }
    static func getrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>) -> Int32 {
        LAPACKE_sgetrf(rowMajor, m, n, a, lda, ipiv)
    }
    static func getrfColumnMajor(m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>)
        -> Int32
    {
        LAPACKE_sgetrf(columnMajor, m, n, a, lda, ipiv)
    }
    static func getrsTransposedColumnMajor(
        n: Int32, nrhs: Int32, a: UnsafePointer<Float>, lda: Int32, ipiv: UnsafePointer<Int32>, b: UnsafeMutablePointer<Float>, ldb: Int32
    ) -> Int32 {
        LAPACKE_sgetrs(columnMajor, transpose, n, nrhs, a, lda, ipiv, b, ldb)
    }
    static func getri(n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, ipiv: UnsafePointer<Int32>) -> Int32 {
        LAPACKE_sgetri(rowMajor, n, a, lda, ipiv)
    }
    static func potrfLower(n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32) -> Int32 {
        LAPACKE_spotrf(rowMajor, lower, n, a, lda)
    }
    static func geqrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, tau: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_sgeqrf(rowMajor, m, n, a, lda, tau)
    }
    static func orgqr(m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, tau: UnsafePointer<Float>) -> Int32 {
        LAPACKE_sorgqr(rowMajor, m, n, k, a, lda, tau)
    }
    static func gesdd(
        jobz: CChar, m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, s: UnsafeMutablePointer<Float>,
        u: UnsafeMutablePointer<Float>, ldu: Int32, vt: UnsafeMutablePointer<Float>, ldvt: Int32
    ) -> Int32 {
        LAPACKE_sgesdd(rowMajor, jobz, m, n, a, lda, s, u, ldu, vt, ldvt)
    }
    static func syevd(n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, w: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_ssyevd(rowMajor, vectors, lower, n, a, lda, w)
    }
    static func gelsd(
        m: Int32, n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Float>, lda: Int32, b: UnsafeMutablePointer<Float>,
        ldb: Int32, s: UnsafeMutablePointer<Float>, rcond: Float, rank: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        LAPACKE_sgelsd(rowMajor, m, n, nrhs, a, lda, b, ldb, s, rcond, rank)
    }
}

extension Double: LinearAlgebraScalar {
    public static var linearAlgebraKernels: LinearAlgebraKernels<Double> { LinearAlgebraKernels(routines: Double.self) }
}

extension Double: LAPACKRoutines {
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32, alpha: Double,
        a: UnsafePointer<Double>, lda: Int32, b: UnsafePointer<Double>, ldb: Int32, beta: Double,
        c: UnsafeMutablePointer<Double>, ldc: Int32
    ) {
        cblas_dgemm(CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    static func gemv(
        transpose: Bool, m: Int32, n: Int32, alpha: Double, a: UnsafePointer<Double>, lda: Int32,
        x: UnsafePointer<Double>, incx: Int32, beta: Double, y: UnsafeMutablePointer<Double>, incy: Int32
    ) {
        cblas_dgemv(CblasRowMajor, blasTranspose(transpose), m, n, alpha, a, lda, x, incx, beta, y, incy)
    }
    static func dot(n: Int32, x: UnsafePointer<Double>, incx: Int32, y: UnsafePointer<Double>, incy: Int32) -> Double {
        cblas_ddot(n, x, incx, y, incy)
    }
    static func gesv(
        n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>,
        b: UnsafeMutablePointer<Double>, ldb: Int32
    ) -> Int32 {
        LAPACKE_dgesv(rowMajor, n, nrhs, a, lda, ipiv, b, ldb)
    }
    static func getrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>) -> Int32 {
        LAPACKE_dgetrf(rowMajor, m, n, a, lda, ipiv)
    }
    static func getrfColumnMajor(m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, ipiv: UnsafeMutablePointer<Int32>)
        -> Int32
    {
        LAPACKE_dgetrf(columnMajor, m, n, a, lda, ipiv)
    }
    static func getrsTransposedColumnMajor(
        n: Int32, nrhs: Int32, a: UnsafePointer<Double>, lda: Int32, ipiv: UnsafePointer<Int32>, b: UnsafeMutablePointer<Double>, ldb: Int32
    ) -> Int32 {
        LAPACKE_dgetrs(columnMajor, transpose, n, nrhs, a, lda, ipiv, b, ldb)
    }
    static func getri(n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, ipiv: UnsafePointer<Int32>) -> Int32 {
        LAPACKE_dgetri(rowMajor, n, a, lda, ipiv)
    }
    static func potrfLower(n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32) -> Int32 {
        LAPACKE_dpotrf(rowMajor, lower, n, a, lda)
    }
    static func geqrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, tau: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dgeqrf(rowMajor, m, n, a, lda, tau)
    }
    static func orgqr(m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, tau: UnsafePointer<Double>)
        -> Int32
    {
        LAPACKE_dorgqr(rowMajor, m, n, k, a, lda, tau)
    }
    static func gesdd(
        jobz: CChar, m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, s: UnsafeMutablePointer<Double>,
        u: UnsafeMutablePointer<Double>, ldu: Int32, vt: UnsafeMutablePointer<Double>, ldvt: Int32
    ) -> Int32 {
        LAPACKE_dgesdd(rowMajor, jobz, m, n, a, lda, s, u, ldu, vt, ldvt)
    }
    static func syevd(n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, w: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dsyevd(rowMajor, vectors, lower, n, a, lda, w)
    }
    static func gelsd(
        m: Int32, n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Double>, lda: Int32, b: UnsafeMutablePointer<Double>,
        ldb: Int32, s: UnsafeMutablePointer<Double>, rcond: Double, rank: UnsafeMutablePointer<Int32>
    ) -> Int32 {
        LAPACKE_dgelsd(rowMajor, m, n, nrhs, a, lda, b, ldb, s, rcond, rank)
    }
}
