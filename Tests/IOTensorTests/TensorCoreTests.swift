import Foundation
import IOTensor
import Testing

@Suite("Tensor values", .timeLimit(.minutes(3)))
struct TensorCoreTests {
    @Test("a tensor holds its scalars in row-major order with its shape")
    func rowMajor() throws {
        let t = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(t.shape == [2, 3])
        #expect(t.rank == 2)
        #expect(t.count == 6)
        #expect(t[1, 0] == 4)
        #expect(t[-1, -1] == 6)
        #expect(t.dtype == .float32)
    }

    @Test("a scalar count that does not fill the shape is a typed error naming the shape")
    func wrongCount() {
        #expect(throws: TensorError.self) { try Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3]) }
        do {
            _ = try Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3])
        } catch {
            #expect(error.description.contains("[2, 2]"))
        }
        #expect(throws: TensorError.self) { try Tensor<Float>.zeros([3, -1]) }
    }

    @Test("tensors are values: writing to a copy leaves the original unchanged")
    func copyOnWrite() throws {
        let original = try Tensor<Int32>(shape: [2, 2], scalars: [1, 2, 3, 4])
        var copy = original
        copy[0, 1] = 99
        #expect(original.scalars == [1, 2, 3, 4])
        #expect(copy.scalars == [1, 99, 3, 4])

        // Writing through a view copies it out of the shared buffer too.
        var view = original.transposed()
        view[0, 1] = -7
        #expect(original.scalars == [1, 2, 3, 4])
        #expect(view.scalars == [1, -7, 2, 4])
    }

    @Test("a tensor of one value holds exactly that value's bits in every element, for every scalar width")
    func repeatingEveryWidth() throws {
        func check<Scalar: TensorScalar>(_ value: Scalar, count: Int) throws {
            let tensor = try Tensor<Scalar>(repeating: value, shape: [count])
            #expect(tensor.scalars == Array(repeating: value, count: count), "\(Scalar.self) × \(count)")
        }
        for count in [0, 1, 3, 17, 1_000_003] {
            try check(true, count: count)
            try check(UInt8(0xA5), count: count)
            try check(Int32(-123_456_789), count: count)
            try check(Int64.min + 5, count: count)
            try check(Int.max - 9, count: count)
            try check(Float(-0.0), count: count)
            try check(Float(1.5e-40), count: count)  // subnormal: its bits, not a rounded value
            try check(Double.pi, count: count)
        }
        let nan = try Tensor<Float>(repeating: Float(nan: 0x1234, signaling: false), shape: [5])
        #expect(nan.scalars.allSatisfy { $0.bitPattern == Float(nan: 0x1234, signaling: false).bitPattern })
    }

    @Test("creation helpers fill the expected values")
    func creation() throws {
        #expect(try Tensor<Double>.zeros([2, 3]).scalars == Array(repeating: 0, count: 6))
        #expect(try Tensor<Float>.ones([4]).scalars == [1, 1, 1, 1])
        #expect(try Tensor<Int64>.full([2], 7).scalars == [7, 7])
        #expect(try Tensor<Float>.eye(3).scalars == [1, 0, 0, 0, 1, 0, 0, 0, 1])
        #expect(try Tensor<Float>.eye(2, columns: 3).scalars == [1, 0, 0, 0, 1, 0])
        #expect(try Tensor<Int>.arange(5).scalars == [0, 1, 2, 3, 4])
        #expect(try Tensor<Double>.arange(1, 2, step: 0.25).scalars == [1, 1.25, 1.5, 1.75])
        #expect(try Tensor<Int32>.arange(10, 0, step: -3).scalars == [10, 7, 4, 1])
        #expect(try Tensor<Double>.linspace(0, 1, count: 5).scalars == [0, 0.25, 0.5, 0.75, 1])
        #expect(try Tensor<Float>.linspace(2, 2, count: 1).scalars == [2])
        #expect(throws: TensorError.self) { try Tensor<Float>.arange(0, 1, step: 0) }
        #expect(Tensor<Bool>(scalar: true).rank == 0)
        #expect(try Tensor<Bool>.zeros([2]).scalars == [false, false])
    }

    @Test("conversion between element types rounds toward zero and saturates")
    func conversion() throws {
        let t = try Tensor<Double>(shape: [4], scalars: [1.9, -1.9, 1e20, .nan])
        #expect(t.converted(to: Int32.self).scalars == [1, -1, Int32.max, 0])
        #expect(t.converted(to: Float.self).scalars[0] == Float(1.9))
        #expect((Tensor<Float>([1, 2]) .> 1.5).converted(to: Float.self).scalars == [0, 1])
    }

    @Test("the erased form shares the buffer and rejects the wrong dtype")
    func anyTensor() throws {
        let t = try Tensor<Float>.randomNormal([3, 4], seed: 11)
        let erased = AnyTensor(t)
        #expect(erased.dtype == .float32)
        #expect(erased.shape == [3, 4])
        #expect(erased.byteCount == 48)
        #expect(try erased.tensor(as: Float.self) == t)
        #expect(throws: TensorError.self) { try erased.tensor(as: Double.self) }
        let view = AnyTensor(t.transposed())
        #expect(try Tensor<Float>(view) == t.transposed().contiguous())

        let bytes: [UInt8] = [1, 0, 0, 0, 2, 0, 0, 0]
        let rebuilt = try bytes.withUnsafeBytes { try AnyTensor(dtype: .int32, shape: [2], bytes: $0) }
        #expect(try rebuilt.tensor(as: Int32.self).scalars == [1, 2])
        #expect(throws: TensorError.self) {
            try bytes.withUnsafeBytes { try AnyTensor(dtype: .float64, shape: [2], bytes: $0) }
        }
    }

    @Test("a tensor prints its elements nested by dimension")
    func description() throws {
        let t = try Tensor<Int32>(shape: [2, 2], scalars: [1, 2, 3, 4])
        #expect(t.description == "[[1, 2],\n[3, 4]]")
        #expect(try Tensor<Int>.arange(20).description.contains("…"))
    }
}

@Suite("Limits", .timeLimit(.minutes(3)))
struct LimitTests {
    @Test("a tensor larger than the machine's memory is a typed error, not a failed allocation")
    func hugeShapes() {
        #expect(throws: TensorError.self) { try Tensor<Double>.zeros([1 << 40]) }
        #expect(throws: TensorError.self) { try Tensor<Float>.randomNormal([1 << 30, 1 << 20], seed: 1) }
        #expect(throws: TensorError.self) { try Tensor<Float>.ones([Int.max, 2]) }
        #expect(throws: TensorError.self) { try Tensor<Double>.arange(0, 1e300) }
        #expect(throws: TensorError.self) { try Tensor<Double>.linspace(0, 1, count: Int.max) }
    }

    @Test("a shape with no elements whose strides would overflow is a typed error, not a trap")
    func emptyShapeOverflowingStrides() throws {
        // Zero elements, so the byte count is 0, but the row-major strides need 2^64.
        let shape = [0, 1 << 32, 1 << 32]
        #expect(throws: TensorError.self) { try Tensor<Float>(shape: shape, scalars: []) }
        #expect(throws: TensorError.self) { try Tensor<Float>.zeros(shape) }
        #expect(throws: TensorError.self) {
            try AnyTensor(dtype: .float32, shape: shape, bytes: UnsafeRawBufferPointer(start: nil, count: 0))
        }
        // A shape with no elements and sane strides is fine.
        #expect(try Tensor<Float>.zeros([0, 1 << 20, 3]).count == 0)
    }

    @Test("reducing over no axes returns the values unchanged")
    func noAxes() throws {
        let t = try Tensor<Double>.arange(6).reshaped([2, 3]).transposed()
        #expect(try t.sum(alongAxes: []) == t.contiguous())
    }
}
