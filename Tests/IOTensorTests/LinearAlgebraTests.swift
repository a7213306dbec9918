import Foundation
import Testing

@testable import IOTensor

@Suite("Linear algebra", .timeLimit(.minutes(3)))
struct LinearAlgebraTests {
    let reference = try! Safetensors.read(contentsOf: fixtures.appendingPathComponent("numpy_reference.safetensors").path)

    @Test(
        "matmul matches a float64 loop for awkward sizes",
        arguments: [(1, 1, 1), (1, 7, 1), (3, 1, 5), (13, 17, 11), (64, 3, 129), (97, 101, 2)])
    func matmul(m: Int, k: Int, n: Int) throws {
        let a = try Tensor<Float>.randomNormal([m, k], seed: UInt64(m * 1000 + k))
        let b = try Tensor<Float>.randomNormal([k, n], seed: UInt64(k * 1000 + n))
        let expected = referenceMatmul(doubles(a), doubles(b), m: m, k: k, n: n)
        let product = try a.matmul(b)
        #expect(product.shape == [m, n])
        expectClose(doubles(product), expected, relative: 1e-4, absolute: 1e-4)

        // Transposed views reach BLAS as flags; the product is the same.
        let viaTransposes = try a.transposed().contiguous().transposed().matmul(b.transposed().contiguous().transposed())
        expectClose(doubles(viaTransposes), expected, relative: 1e-4, absolute: 1e-4)
    }

    @Test("OpenBLAS can be held to one thread per call, and products stay right")
    func blasThreads() throws {
        // OpenBLAS takes the setting; another BLAS reports that nothing changed.
        #expect(TensorBackend.setBLASThreads(1) == (TensorBackend.blasCoreName != nil))
        defer { TensorBackend.setBLASThreads(TensorBackend.threadCount) }
        let a = try Tensor<Float>.randomNormal([300, 200], seed: 1)
        let b = try Tensor<Float>.randomNormal([200, 100], seed: 2)
        expectClose(
            doubles(try a.matmul(b)), referenceMatmul(doubles(a), doubles(b), m: 300, k: 200, n: 100), relative: 1e-4, absolute: 1e-3)
    }

    @Test("matmul of strided slices, vectors and broadcast batches")
    func shapes() throws {
        let a = try Tensor<Double>.randomNormal([5, 8], seed: 1)
        let b = try Tensor<Double>.randomNormal([8, 6], seed: 2)
        // A column-strided slice must be copied before BLAS sees it.
        let strided = try a.slice(alongAxis: 1, 0..<8, step: 2)
        let bHalf = try b.slice(alongAxis: 0, 0..<4)
        expectClose(try strided.matmul(bHalf).scalars, referenceMatmul(strided.scalars, bHalf.scalars, m: 5, k: 4, n: 6), relative: 1e-12)

        let v = try Tensor<Double>.randomNormal([8], seed: 3)
        let av = try a.matmul(v)
        #expect(av.shape == [5])
        expectClose(av.scalars, referenceMatmul(a.scalars, v.scalars, m: 5, k: 8, n: 1), relative: 1e-12)
        let vb = try v.matmul(b)
        #expect(vb.shape == [6])
        expectClose(vb.scalars, referenceMatmul(v.scalars, b.scalars, m: 1, k: 8, n: 6), relative: 1e-12)
        // Matrix-vector products through gemv, with transposed and strided operands.
        let at = a.transposed().contiguous().transposed()
        expectClose(try at.matmul(v).scalars, av.scalars, relative: 1e-12)
        let w = try Tensor<Double>.randomNormal([16], seed: 6).slice(alongAxis: 0, 0..<16, step: 2)
        expectClose(try a.matmul(w).scalars, referenceMatmul(a.scalars, w.scalars, m: 5, k: 8, n: 1), relative: 1e-12)
        expectClose(
            try w.matmul(at.transposed()).scalars, referenceMatmul(w.scalars, a.transposed().contiguous().scalars, m: 1, k: 8, n: 5),
            relative: 1e-12)
        #expect(throws: TensorError.self) { try a.matmul(Tensor<Double>([1, 2])) }
        #expect(throws: TensorError.self) { try Tensor<Double>([1, 2]).matmul(b) }
        #expect(try v.matmul(v).rank == 0)

        let batch = try Tensor<Double>.randomNormal([3, 1, 5, 8], seed: 4)
        let right = try Tensor<Double>.randomNormal([2, 8, 6], seed: 5)
        let product = try batch.matmul(right)
        #expect(product.shape == [3, 2, 5, 6])
        for i in 0..<3 {
            for j in 0..<2 {
                let expected = referenceMatmul(try batch.select(i).select(0).scalars, try right.select(j).scalars, m: 5, k: 8, n: 6)
                expectClose(try product.select(i).select(j).scalars, expected, relative: 1e-12)
            }
        }
        #expect(throws: TensorError.self) { try a.matmul(a) }
        #expect(throws: TensorError.self) { try batch.matmul(try Tensor<Double>.zeros([2, 2, 8, 6])) }
        #expect(try Tensor<Float>.zeros([3, 0]).matmul(try Tensor<Float>.zeros([0, 2])).scalars == Array(repeating: 0, count: 6))
    }

    @Test("matmul adding a bias row, a full matrix or a batch equals the product plus the addend")
    func matmulAdding() throws {
        for (m, k, n) in [(1, 1, 1), (13, 17, 11), (97, 3, 129)] {
            let a = try Tensor<Float>.randomNormal([m, k], seed: UInt64(m))
            let b = try Tensor<Float>.randomNormal([n, k], seed: UInt64(n)).transposed()
            let product = referenceMatmul(doubles(a), doubles(b.contiguous()), m: m, k: k, n: n)
            let row = try Tensor<Float>.randomNormal([n], seed: 7)
            let full = try Tensor<Float>.randomNormal([m, n], seed: 8)
            let rowValues = doubles(row)
            let fullValues = doubles(full)
            let withRow = try a.matmul(b, adding: row)
            #expect(withRow.shape == [m, n])
            expectClose(doubles(withRow), product.indices.map { product[$0] + rowValues[$0 % n] }, relative: 1e-4, absolute: 1e-4)
            expectClose(
                doubles(try a.matmul(b, adding: full)), product.indices.map { product[$0] + fullValues[$0] }, relative: 1e-4, absolute: 1e-4
            )
            // The addend is read, never written.
            #expect(doubles(row) == rowValues)
        }
        let batch = try Tensor<Double>.randomNormal([2, 4, 3], seed: 1)
        let right = try Tensor<Double>.randomNormal([3, 5], seed: 2)
        let bias = try Tensor<Double>.randomNormal([5], seed: 3)
        expectClose(try batch.matmul(right, adding: bias).scalars, try (batch.matmul(right) + bias).scalars, relative: 1e-12)
        // Vectors take the two-step path; an addend that does not broadcast is refused.
        let v = Tensor<Double>([1, 2, 3])
        expectClose(try right.transposed().matmul(v, adding: Tensor<Double>([1])).scalars, try (right.transposed().matmul(v) + 1).scalars)
        #expect(throws: TensorError.self) { try batch.matmul(right, adding: try Tensor<Double>.zeros([4])) }
        #expect(throws: TensorError.self) { try batch.matmul(right, adding: try Tensor<Double>.zeros([3, 4, 5])) }
        // Empty inner dimension: the product is zero, so the result is the addend.
        #expect(
            try Tensor<Float>.zeros([2, 0]).matmul(try Tensor<Float>.zeros([0, 2]), adding: Tensor<Float>([1, 2])).scalars == [1, 2, 1, 2])
    }

    @Test("freed tensor memory is reused for the same size and bounded by the cache's limit")
    func bufferCache() throws {
        let size = BufferCache.minimumBytes * 3
        let first = TensorBuffer(byteCount: size)
        let address = first.base
        _ = consume first
        // The next buffer of that size gets the freed memory back (unless another test running
        // in parallel took it first, so look for it among a few).
        let takers = (0..<4).map { _ in TensorBuffer(byteCount: size) }
        #expect(takers.contains { $0.base == address })
        // Small buffers are left to malloc.
        #expect(BufferCache.take(byteCount: BufferCache.minimumBytes - 1) == nil)
        // However much is freed, the cache holds at most its limit.
        let many = (0..<12).map { _ in TensorBuffer(byteCount: BufferCache.limitBytes / 8) }
        _ = consume many
        #expect(BufferCache.cachedBytes <= BufferCache.limitBytes)
        BufferCache.empty()
    }

    @Test("dot and outer products")
    func vectorProducts() throws {
        let x = Tensor<Double>([1, 2, 3])
        let y = Tensor<Double>([4, -5, 6])
        #expect(try x.dot(y) == 12)
        let outer = try x.outer(Tensor<Double>([1, 10]))
        #expect(outer.scalars == [1, 10, 2, 20, 3, 30])
        #expect(throws: TensorError.self) { try x.dot(Tensor<Double>([1, 2])) }
        let strided = try Tensor<Double>.arange(6).slice(alongAxis: 0, 0..<6, step: 2)
        let stridedDot = try strided.dot(x)
        #expect(stridedDot == 16)
    }

    @Test("solve, inverse, determinant and Cholesky match NumPy")
    func factorizations() throws {
        let a: Tensor<Double> = try reference.tensor("a")
        let b: Tensor<Double> = try reference.tensor("b")
        let spd: Tensor<Double> = try reference.tensor("spd")
        expectClose(try a.solve(b).scalars, try reference.tensor("solve_a_b", as: Double.self).scalars, relative: 1e-10, absolute: 1e-12)
        expectClose(
            try a.solve(b.select(1, alongAxis: 1)).scalars,
            try reference.tensor("solve_a_b", as: Double.self).select(1, alongAxis: 1).scalars, relative: 1e-10)
        expectClose(try a.inverse().scalars, try reference.tensor("inverse_a", as: Double.self).scalars, relative: 1e-10, absolute: 1e-12)
        expectClose([try a.determinant()], try reference.tensor("determinant_a", as: Double.self).scalars, relative: 1e-10)
        expectClose(
            try spd.cholesky().scalars, try reference.tensor("cholesky_spd", as: Double.self).scalars, relative: 1e-10, absolute: 1e-12)
        // Float32 through the `s` routines.
        let a32 = a.converted(to: Float.self)
        expectClose(
            doubles(try a32.solve(b.converted(to: Float.self))), try reference.tensor("solve_a_b", as: Double.self).scalars, relative: 1e-3,
            absolute: 1e-4)
    }

    @Test("QR, SVD, symmetric eigendecomposition and least squares reconstruct their inputs")
    func decompositions() throws {
        let tall: Tensor<Double> = try reference.tensor("tall")
        let (q, r) = try tall.qr()
        #expect(q.shape == [9, 4] && r.shape == [4, 4])
        expectClose(try q.matmul(r).scalars, tall.scalars, relative: 1e-12, absolute: 1e-12)
        expectClose(try q.transposed().matmul(q).scalars, try Tensor<Double>.eye(4).scalars, absolute: 1e-12)
        #expect(try r.select(3).select(0).scalar == 0)

        let (u, s, vt) = try tall.svd()
        expectClose(s.scalars, try reference.tensor("singular_values_tall", as: Double.self).scalars, relative: 1e-12)
        expectClose(try (u * s).matmul(vt).scalars, tall.scalars, relative: 1e-12, absolute: 1e-12)
        let full = try tall.svd(fullMatrices: true)
        #expect(full.u.shape == [9, 9] && full.vt.shape == [4, 4])

        let spd: Tensor<Double> = try reference.tensor("spd")
        let (values, vectors) = try spd.symmetricEigen()
        expectClose(values.scalars, try reference.tensor("eigenvalues_spd", as: Double.self).scalars, relative: 1e-12)
        expectClose(try spd.matmul(vectors).scalars, try (vectors * values).scalars, relative: 1e-10, absolute: 1e-10)

        let fit = try tall.leastSquares(try reference.tensor("tall_b"))
        #expect(fit.rank == 4)
        expectClose(fit.solution.scalars, try reference.tensor("lstsq_tall", as: Double.self).scalars, relative: 1e-10, absolute: 1e-12)
        // A wide, rank-deficient system gets the minimum-norm solution.
        let wide = try Tensor<Double>(shape: [2, 3], scalars: [1, 1, 0, 2, 2, 0])
        let minimumNorm = try wide.leastSquares(Tensor<Double>([2, 4]))
        #expect(minimumNorm.rank == 1)
        expectClose(minimumNorm.solution.scalars, [1, 1, 0], absolute: 1e-12)
    }

    @Test("singular and indefinite matrices and wrong shapes throw typed errors")
    func errors() throws {
        let singular = try Tensor<Double>(shape: [3, 3], scalars: [1, 2, 3, 2, 4, 6, 1, 0, 1])
        #expect(throws: TensorError.singularMatrix(operation: "solve")) { try singular.solve(Tensor<Double>([1, 2, 3])) }
        #expect(throws: TensorError.singularMatrix(operation: "inverse")) { try singular.inverse() }
        #expect(try singular.determinant() == 0)
        let indefinite = try Tensor<Float>(shape: [2, 2], scalars: [1, 2, 2, 1])
        #expect(throws: TensorError.notPositiveDefinite(operation: "cholesky")) { try indefinite.cholesky() }
        #expect(throws: TensorError.self) { try Tensor<Double>.zeros([2, 3]).inverse() }
        #expect(throws: TensorError.self) { try Tensor<Double>.eye(3).solve(Tensor<Double>([1, 2])) }
        #expect(throws: TensorError.self) { try Tensor<Double>.zeros([4]).svd() }
    }
}

@Suite("BLAS layouts", .timeLimit(.minutes(3)))
struct BLASLayoutTests {
    @Test("a transposed view reaches BLAS as a transpose flag with its leading dimension, not a copy")
    func transposeFlag() throws {
        let a = try Tensor<Float>.zeros([4, 7])
        let t = a.transposed()
        let layout = try #require(BLASMatrix(rows: 7, columns: 4, rowStride: t.strides[0], columnStride: t.strides[1]))
        #expect(layout.transposed && layout.leadingDimension == 7)
        let plain = try #require(BLASMatrix(rows: 4, columns: 7, rowStride: 7, columnStride: 1))
        #expect(!plain.transposed && plain.leadingDimension == 7)
        // A row slice of a wider matrix keeps the wide leading dimension.
        let slice = try a.slice(alongAxis: 1, 2..<5)
        #expect(BLASMatrix(rows: 4, columns: 3, rowStride: slice.strides[0], columnStride: slice.strides[1])?.leadingDimension == 7)
        // Every other column is neither layout: BLAS cannot take it without a copy.
        let strided = try a.slice(alongAxis: 1, 0..<7, step: 2)
        #expect(BLASMatrix(rows: 4, columns: 4, rowStride: strided.strides[0], columnStride: strided.strides[1]) == nil)
    }
}
