// Dense linear algebra on LAPACK (through LAPACKE, row-major). Each routine works on a private
// copy of its input, so the tensor it is called on never changes.

/// The result of ``Tensor/leastSquares(_:rcond:)``.
public struct LeastSquaresSolution<Scalar: LinearAlgebraScalar>: Sendable {
    /// The minimum-norm solution x of min ‖A·x − b‖₂: `[n]` or `[n, k]`.
    public let solution: Tensor<Scalar>
    /// The effective rank of A.
    public let rank: Int
    /// The singular values of A, largest first.
    public let singularValues: Tensor<Scalar>
}

extension Tensor where Scalar: LinearAlgebraScalar {
    private func requireSquareMatrix(_ operation: String) throws(TensorError) -> Int32 {
        BLASRuntime.prepare()
        guard rank == 2 && shape[0] == shape[1] else {
            throw .invalidShape(operation: operation, shape: shape, reason: "a square matrix is required")
        }
        return try blasInt(shape[0], operation: operation)
    }

    private func requireMatrix(_ operation: String) throws(TensorError) -> (Int32, Int32) {
        BLASRuntime.prepare()
        guard rank == 2 else { throw .invalidShape(operation: operation, shape: shape, reason: "a matrix is required") }
        return (try blasInt(shape[0], operation: operation), try blasInt(shape[1], operation: operation))
    }

    private func check(_ info: Int32, _ routine: String, operation: String) throws(TensorError) {
        if info < 0 { throw .lapackFailure(routine: routine, info: Int(info)) }
    }

    /// Solves A·x = b for x, where A (this tensor) is square and `b` is `[n]` or `[n, k]`
    /// (LU with partial pivoting, `?getrf` and `?getrs`).
    ///
    /// The row-major buffer of A is, read column-major, Aᵀ: factoring that and solving with the
    /// transpose flag avoids the two whole-matrix transpositions that a row-major `?gesv` makes.
    ///
    /// - Throws: ``TensorError/singularMatrix(operation:)`` when A is singular,
    ///   ``TensorError/shapeMismatch(operation:lhs:rhs:reason:)`` when `b`'s rows differ from A's.
    public func solve(_ b: Tensor) throws(TensorError) -> Tensor {
        let n = try requireSquareMatrix("solve")
        guard (b.rank == 1 || b.rank == 2) && b.shape[0] == shape[0] else {
            throw .shapeMismatch(operation: "solve", lhs: shape, rhs: b.shape, reason: "b must be [n] or [n, k] with n = \(shape[0])")
        }
        let columns = b.rank == 1 ? 1 : b.shape[1]
        if n == 0 || columns == 0 { return b.contiguous(forceCopy: true) }
        let factors = contiguous(forceCopy: true)
        var pivots = [Int32](repeating: 0, count: Int(n))
        let info = Scalar.lapack.getrfColumnMajor(m: n, n: n, a: factors.basePointer, lda: n, ipiv: &pivots)
        try check(info, "?getrf", operation: "solve")
        if info > 0 { throw .singularMatrix(operation: "solve") }
        // Right-hand sides column-major: [k, n] row-major is n×k column-major.
        let rightHandSides = b.rank == 1 ? b.contiguous(forceCopy: true) : b.transposed().contiguous(forceCopy: true)
        let solved = Scalar.lapack.getrsTransposedColumnMajor(
            n: n, nrhs: try blasInt(columns, operation: "solve"), a: factors.basePointer, lda: n, ipiv: pivots,
            b: rightHandSides.basePointer, ldb: n)
        try check(solved, "?getrs", operation: "solve")
        return b.rank == 1 ? rightHandSides : rightHandSides.transposed().contiguous()
    }

    /// The inverse of a square matrix (`?getrf` then `?getri`).
    ///
    /// - Throws: ``TensorError/singularMatrix(operation:)`` when the matrix is singular.
    public func inverse() throws(TensorError) -> Tensor {
        let n = try requireSquareMatrix("inverse")
        let a = contiguous(forceCopy: true)
        if n == 0 { return a }
        var pivots = [Int32](repeating: 0, count: Int(n))
        let factored = Scalar.lapack.getrf(m: n, n: n, a: a.basePointer, lda: n, ipiv: &pivots)
        try check(factored, "?getrf", operation: "inverse")
        if factored > 0 { throw .singularMatrix(operation: "inverse") }
        let inverted = Scalar.lapack.getri(n: n, a: a.basePointer, lda: n, ipiv: pivots)
        try check(inverted, "?getri", operation: "inverse")
        if inverted > 0 { throw .singularMatrix(operation: "inverse") }
        return a
    }

    /// The determinant of a square matrix, from its LU factorization (0 for a singular matrix).
    public func determinant() throws(TensorError) -> Scalar {
        let n = try requireSquareMatrix("determinant")
        if n == 0 { return 1 }
        let a = contiguous(forceCopy: true)
        var pivots = [Int32](repeating: 0, count: Int(n))
        let info = Scalar.lapack.getrf(m: n, n: n, a: a.basePointer, lda: n, ipiv: &pivots)
        try check(info, "?getrf", operation: "determinant")
        if info > 0 { return 0 }
        var result: Scalar = 1
        let size = Int(n)
        for i in 0..<size {
            result *= a.basePointer[i * size + i]
            if pivots[i] != Int32(i + 1) { result = -result }
        }
        return result
    }

    /// The lower-triangular Cholesky factor L with A = L·Lᵀ (`?potrf`).
    ///
    /// - Throws: ``TensorError/notPositiveDefinite(operation:)`` when A is not symmetric positive
    ///   definite. Only the lower triangle of A is read.
    public func cholesky() throws(TensorError) -> Tensor {
        let n = try requireSquareMatrix("cholesky")
        let a = contiguous(forceCopy: true)
        if n == 0 { return a }
        let info = Scalar.lapack.potrfLower(n: n, a: a.basePointer, lda: n)
        try check(info, "?potrf", operation: "cholesky")
        if info > 0 { throw .notPositiveDefinite(operation: "cholesky") }
        let size = Int(n)
        for row in 0..<size {
            for column in (row + 1)..<Swift.max(size, row + 1) { a.basePointer[row * size + column] = 0 }
        }
        return a
    }

    /// The reduced QR factorization A = Q·R of an m×n matrix: Q is m×min(m,n) with orthonormal
    /// columns and R is min(m,n)×n upper-triangular (`?geqrf`, `?orgqr`).
    public func qr() throws(TensorError) -> (q: Tensor, r: Tensor) {
        let (m, n) = try requireMatrix("qr")
        let (rows, columns) = (Int(m), Int(n))
        let k = Swift.min(rows, columns)
        let a = contiguous(forceCopy: true)
        var tau = [Scalar](repeating: 0, count: Swift.max(k, 1))
        if k == 0 { return (try Tensor.zeros([rows, 0]), try Tensor.zeros([0, columns])) }
        try check(Scalar.lapack.geqrf(m: m, n: n, a: a.basePointer, lda: n, tau: &tau), "?geqrf", operation: "qr")
        var r = try Tensor.zeros([k, columns])
        for row in 0..<k {
            for column in row..<columns { r.basePointer[row * columns + column] = a.basePointer[row * columns + column] }
        }
        // Q is the first k columns of the reflectors' product; ?orgqr needs them in an m×k array.
        let q = try a.slice(alongAxis: 1, 0..<k).contiguous(forceCopy: true)
        try check(Scalar.lapack.orgqr(m: m, n: Int32(k), k: Int32(k), a: q.basePointer, lda: Int32(k), tau: tau), "?orgqr", operation: "qr")
        r.strides = Tensor.contiguousStrides(r.shape)
        return (q, r)
    }

    /// The singular value decomposition A = U·diag(S)·Vᵀ by divide and conquer (`?gesdd`).
    ///
    /// - Parameter fullMatrices: `true` for U m×m and Vᵀ n×n; `false` (the default) for the
    ///   reduced U m×k and Vᵀ k×n with k = min(m, n).
    /// - Returns: `u`, the singular values `s` (largest first), and `vt`.
    /// - Throws: ``TensorError/noConvergence(operation:)`` if the iteration fails.
    public func svd(fullMatrices: Bool = false) throws(TensorError) -> (u: Tensor, s: Tensor, vt: Tensor) {
        let (m, n) = try requireMatrix("svd")
        let (rows, columns) = (Int(m), Int(n))
        let k = Swift.min(rows, columns)
        let a = contiguous(forceCopy: true)
        let uColumns = fullMatrices ? rows : k
        let vtRows = fullMatrices ? columns : k
        let u = try Tensor.zeros([rows, uColumns])
        let s = try Tensor.zeros([k])
        let vt = try Tensor.zeros([vtRows, columns])
        if k == 0 { return (u, s, vt) }
        let job = CChar(UInt8(ascii: fullMatrices ? "A" : "S"))
        let info = Scalar.lapack.gesdd(
            jobz: job, m: m, n: n, a: a.basePointer, lda: n, s: s.basePointer, u: u.basePointer,
            ldu: Int32(Swift.max(uColumns, 1)), vt: vt.basePointer, ldvt: n)
        try check(info, "?gesdd", operation: "svd")
        if info > 0 { throw .noConvergence(operation: "svd") }
        return (u, s, vt)
    }

    /// The eigendecomposition of a symmetric matrix, A = V·diag(w)·Vᵀ (`?syevd`; only the lower
    /// triangle is read).
    ///
    /// - Returns: the eigenvalues in ascending order and the matching unit eigenvectors as the
    ///   columns of `vectors`.
    public func symmetricEigen() throws(TensorError) -> (values: Tensor, vectors: Tensor) {
        let n = try requireSquareMatrix("symmetricEigen")
        let a = contiguous(forceCopy: true)
        let w = try Tensor.zeros([Int(n)])
        if n == 0 { return (w, a) }
        let info = Scalar.lapack.syevd(n: n, a: a.basePointer, lda: n, w: w.basePointer)
        try check(info, "?syevd", operation: "symmetricEigen")
        if info > 0 { throw .noConvergence(operation: "symmetricEigen") }
        return (w, a)
    }

    /// The minimum-norm least-squares solution of A·x ≈ b, for any m×n matrix A of any rank
    /// (SVD-based `?gelsd`).
    ///
    /// - Parameters:
    ///   - b: `[m]` or `[m, k]`.
    ///   - rcond: singular values below `rcond × σ₁` count as zero; `nil` uses machine epsilon × max(m, n).
    public func leastSquares(_ b: Tensor, rcond: Scalar? = nil) throws(TensorError) -> LeastSquaresSolution<Scalar> {
        let (m, n) = try requireMatrix("leastSquares")
        guard (b.rank == 1 || b.rank == 2) && b.shape[0] == shape[0] else {
            throw .shapeMismatch(
                operation: "leastSquares", lhs: shape, rhs: b.shape, reason: "b must be [m] or [m, k] with m = \(shape[0])")
        }
        let (rows, columns) = (Int(m), Int(n))
        let rightColumns = b.rank == 1 ? 1 : b.shape[1]
        // ?gelsd overwrites b with x, so b's buffer must have max(m, n) rows.
        let height = Swift.max(rows, columns)
        let work = try Tensor.zeros([height, rightColumns])
        let source = b.contiguous()
        for row in 0..<rows {
            for column in 0..<rightColumns {
                work.basePointer[row * rightColumns + column] = source.basePointer[row * rightColumns + column]
            }
        }
        let a = contiguous(forceCopy: true)
        let singular = try Tensor.zeros([Swift.min(rows, columns)])
        var effectiveRank: Int32 = 0
        if rows > 0 && columns > 0 && rightColumns > 0 {
            let threshold = rcond ?? (Scalar.ulpOfOne * Scalar(height))
            let info = Scalar.lapack.gelsd(
                m: m, n: n, nrhs: try blasInt(rightColumns, operation: "leastSquares"), a: a.basePointer, lda: n,
                b: work.basePointer, ldb: Int32(rightColumns), s: singular.basePointer, rcond: threshold, rank: &effectiveRank)
            try check(info, "?gelsd", operation: "leastSquares")
            if info > 0 { throw .noConvergence(operation: "leastSquares") }
        }
        var solution = try work.slice(alongAxis: 0, 0..<columns).contiguous(forceCopy: true)
        if b.rank == 1 { solution = try solution.reshaped([columns]) }
        return LeastSquaresSolution(solution: solution, rank: Int(effectiveRank), singularValues: singular)
    }
}
