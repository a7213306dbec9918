import IOTensor
import IOTensorOpenCL
import Testing

/// Shapes that are not multiples of any tile or work-group size: 1, primes, odd matrices.
private let awkwardShapes: [[Int]] = [[1], [7], [1031], [3, 5], [13, 1, 17]]

@Suite("Tensors on an OpenCL device", .serialized, .timeLimit(.minutes(3)))
struct DeviceTensorTests {
    let check: DeviceCheck

    init() throws { check = try DeviceCheck() }

    @Test("tensors move to the device and back unchanged; views of device tensors stay there")
    func roundTrip() throws {
        let a = try Tensor<Float>.randomNormal([37, 11], seed: 1)
        let onDevice = try a.to(check.device)
        #expect(onDevice.device == check.device && a.device == .cpu)
        #expect(try onDevice.to(.cpu) == a)
        #expect(try onDevice.to(check.device).device == check.device)
        // Views share the device buffer; reading elements brings them to the host.
        #expect(onDevice.transposed().device == check.device)
        #expect(onDevice.transposed().scalars == a.transposed().scalars)
        #expect(onDevice[3, 4] == a[3, 4])
        let ints = try Tensor<Int32>(shape: [5], scalars: [1, -2, 3, Int32.max, Int32.min])
        #expect(try ints.to(check.device).to(.cpu) == ints)
        let mask = try Tensor<Bool>(shape: [3], scalars: [true, false, true])
        #expect(try mask.to(check.device).to(.cpu) == mask)
    }

    @Test("writing an element of a device tensor reaches the next kernel")
    func hostWrites() throws {
        var onDevice = try Tensor<Float>(shape: [4], scalars: [1, 2, 3, 4]).to(check.device)
        onDevice[2] = 30
        let doubled = onDevice * 2
        #expect(doubled.device == check.device)
        #expect(doubled.scalars == [2, 4, 60, 8])
    }

    @Test("a device that does not exist is a typed error, and the CPU keeps working")
    func missingDevice() throws {
        let a = try Tensor<Float>(shape: [2], scalars: [1, 2])
        #expect {
            try a.to(.opencl(999))
        } throws: { error in
            guard case .device(_, let device, let reason) = error as? TensorError else { return false }
            return device == "opencl:999" && reason.contains("999")
        }
        let custom = Device(kind: "nowhere", index: 0, provider: nil)
        #expect(throws: TensorError.self) { try a.to(custom) }
        #expect((a + 1).scalars == [2, 3])
    }

    /// Runs `body` with the vector elementwise kernels on and off.
    private func withAndWithoutVectors(_ body: () throws -> Void) rethrows {
        let chosen = check.backend.elementwiseVectors
        defer { check.backend.elementwiseVectors = chosen }
        for vectors in [true, false] {
            check.backend.elementwiseVectors = vectors
            try body()
        }
    }

    @Test("binary arithmetic with broadcasting equals the CPU (float, double, int32, int64), with and without vector kernels")
    func binaryArithmetic() throws {
        try withAndWithoutVectors { try binaryArithmeticOnce() }
    }

    private func binaryArithmeticOnce() throws {
        let doubles = try Tensor<Double>.randomNormal([1031], seed: 11)
        try check.expectSame("double add and divide", [doubles, doubles.abs() + 1]) { try ($0[0] + $0[1]) / $0[1] }
        for shape in awkwardShapes {
            let x = try Tensor<Float>.randomNormal(shape, seed: 2)
            let y = try Tensor<Float>.randomUniform(shape, lowerBound: 0.5, upperBound: 2, seed: 3)
            try check.expectSame("add \(shape)", [x, y]) { try $0[0] + $0[1] }
            try check.expectSame("subtract \(shape)", [x, y]) { try $0[0] - $0[1] }
            try check.expectSame("multiply \(shape)", [x, y]) { try $0[0] * $0[1] }
            try check.expectSame("divide \(shape)", [x, y]) { try $0[0] / $0[1] }
            try check.expectSame("power \(shape)", [y, x]) { try $0[0].pow($0[1]) }
            try check.expectSame("maximum \(shape)", [x, y]) { try $0[0].maximum($0[1]) }
            try check.expectSame("minimum \(shape)", [x, y]) { try $0[0].minimum($0[1]) }
            try check.expectSame("scalar \(shape)", [x]) { 3 - $0[0] * 0.5 }
        }
        // Broadcasting: a row, a column and a scalar against a matrix; two size-1 patterns.
        let matrix = try Tensor<Float>.randomNormal([19, 23], seed: 4)
        let row = try Tensor<Float>.randomNormal([23], seed: 5)
        let column = try Tensor<Float>.randomNormal([19, 1], seed: 6)
        try check.expectSame("matrix + row", [matrix, row]) { try $0[0] + $0[1] }
        try check.expectSame("column * matrix", [column, matrix]) { try $0[0] * $0[1] }
        try check.expectSame("column - row", [column.reshaped([19, 1]), row]) { try $0[0] - $0[1] }
        let a = try Tensor<Float>.randomNormal([4, 1, 3], seed: 7)
        let b = try Tensor<Float>.randomNormal([1, 6, 1], seed: 8)
        try check.expectSame("[4,1,3] + [1,6,1]", [a, b]) { try $0[0] + $0[1] }
        // Views: a transpose and a strided slice read in place.
        try check.expectSame("transpose + matrix", [matrix]) { try $0[0].transposed() + $0[0].transposed() }
        try check.expectSame("slice", [matrix]) { try $0[0].slice([2..<17, 3..<20]) * 2 }
        // Integers wrap and divide by zero to 0, as on the CPU.
        let i = try Tensor<Int32>(shape: [6], scalars: [7, -7, Int32.max, Int32.min, 0, 5])
        let j = try Tensor<Int32>(shape: [6], scalars: [2, 0, 2, -1, 3, -3])
        let integerOperations: [(String, (Tensor<Int32>, Tensor<Int32>) throws -> Tensor<Int32>)] = [
            ("add", { try $0 + $1 }), ("subtract", { try $0 - $1 }), ("multiply", { try $0 * $1 }), ("divide", { try $0 / $1 }),
        ]
        for (name, operation) in integerOperations {
            try check.expectSame("int32 \(name)", [i, j]) { try operation($0[0], $0[1]) }
        }
        try check.expectSame("int32 power", [i, try Tensor<Int32>(shape: [6], scalars: [3, -1, 2, 2, 0, 31])]) { try $0[0].pow($0[1]) }
        let k = try Tensor<Int64>(shape: [1031]) { for n in $0.indices { $0[n] = Int64(n * 7919) - 4_000_000 } }
        try check.expectSame("int64 multiply + max", [k]) { try ($0[0] * $0[0]).maximum($0[0]) }
    }

    @Test("unary, floating and comparison operations, where and clamp equal the CPU; NaN propagates; with and without vector kernels")
    func unaryAndComparisons() throws {
        try withAndWithoutVectors { try unaryAndComparisonsOnce() }
    }

    private func unaryAndComparisonsOnce() throws {
        let doubles = try Tensor<Double>.randomNormal([37], seed: 12)
        try check.expectSame("double exp, tanh, sigmoid", [doubles]) { $0[0].exp().tanh().sigmoid() }
        for shape in awkwardShapes {
            var x = try Tensor<Float>.randomNormal(shape, seed: 9)
            if x.count > 3 { x.withUnsafeMutableBufferPointer { $0[2] = .nan } }
            let positive = x.abs() + 0.1
            try check.expectSame("negate \(shape)", [x]) { -$0[0] }
            try check.expectSame("abs \(shape)", [x]) { $0[0].abs() }
            try check.expectSame("relu \(shape)", [x]) { $0[0].relu() }
            try check.expectSame("squared \(shape)", [x]) { $0[0].squared() }
            try check.expectSame("exp \(shape)", [x]) { $0[0].exp() }
            try check.expectSame("log \(shape)", [positive]) { $0[0].log() }
            try check.expectSame("sqrt \(shape)", [positive]) { $0[0].sqrt() }
            try check.expectSame("tanh \(shape)", [x]) { $0[0].tanh() }
            try check.expectSame("erf \(shape)", [x]) { $0[0].erf() }
            try check.expectSame("sigmoid \(shape)", [x * 30]) { $0[0].sigmoid() }
            try check.expectSame("clamp \(shape)", [x]) { $0[0].clamped(to: -0.5...0.5) }
            let y = try Tensor<Float>.randomNormal(shape, seed: 10)
            try check.expectSame("less \(shape)", [x, y]) { try $0[0] .< $0[1] }
            try check.expectSame("greaterOrEqual \(shape)", [x, y]) { try $0[0] .>= $0[1] }
            try check.expectSame("equal \(shape)", [x, x]) { try $0[0] .== $0[1] }
            try check.expectSame("where \(shape)", [x, y]) { try Tensor.where($0[0] .> 0, $0[0], $0[1]) }
        }
        let i = try Tensor<Int64>(shape: [5], scalars: [-3, 0, 4, Int64.min, 9])
        try check.expectSame("int64 negate", [i]) { -$0[0] }
        try check.expectSame("int64 abs + relu", [i]) { try $0[0].abs() + $0[0].relu() }
        try check.expectSame("int64 clamp", [i]) { $0[0].clamped(to: -2...5) }
    }

    @Test("copies of views (contiguous) equal the CPU")
    func copies() throws {
        let x = try Tensor<Float>.randomNormal([5, 7, 11], seed: 11)
        try check.expectSame("permuted", [x]) { try $0[0].permuted([2, 0, 1]).contiguous() }
        try check.expectSame("broadcast", [try Tensor<Float>.randomNormal([7, 1], seed: 12)]) {
            try $0[0].broadcast(to: [3, 7, 5]).contiguous()
        }
        try check.expectSame("reshape of a transpose", [x]) { try $0[0].transposed().reshaped([-1]) }
    }

    @Test("transposing copies equal the CPU with the tiled and the strided kernel, for every element width")
    func transposes() throws {
        let original = check.backend.transposeKernel
        defer { check.backend.transposeKernel = original }
        for kernel in [OpenCLBackend.TransposeKernel.tiled, .strided] {
            check.backend.transposeKernel = kernel
            for shape in [[1, 1], [17, 33], [33, 17], [16, 16], [3, 20, 17], [2, 1, 31]] {
                let count = shape.reduce(1, *)
                let x = try Tensor<Float>.randomNormal(shape, seed: 13)
                try check.expectSame("\(kernel) transpose \(shape)", [x]) { $0[0].transposed().contiguous() }
                let integers = try Tensor<Int64>(shape: shape, scalars: (0..<count).map { Int64($0) * 1_000_003 })
                try check.expectSame("\(kernel) transpose \(shape) int64", [integers]) { $0[0].transposed().contiguous() }
            }
            let bytes = try Tensor<UInt8>(shape: [19, 23], scalars: (0..<(19 * 23)).map { UInt8($0 % 256) })
            try check.expectSame("\(kernel) transpose bytes", [bytes]) { $0[0].transposed().contiguous() }
            let doubles = try Tensor<Double>.randomNormal([9, 40], seed: 14)
            try check.expectSame("\(kernel) transpose doubles", [doubles]) { $0[0].transposed().contiguous() }
            let x = try Tensor<Float>.randomNormal([4, 6, 5], seed: 15)
            try check.expectSame("\(kernel) channels first", [x]) { try $0[0].permuted([0, 2, 1]).contiguous() }
        }
    }
}
