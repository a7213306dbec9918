import IORuntime
import IORuntimeTensor
import IOTensor
import Testing

struct Point: WireSerializable, Equatable {
    var x: Double
    var label: String
    func encode(to encoder: inout WireEncoder) {
        encoder.write(x)
        encoder.write(label)
    }
    init(x: Double, label: String) {
        self.x = x
        self.label = label
    }
    init(from decoder: inout WireDecoder) throws(WireError) {
        x = try decoder.read(Double.self)
        label = try decoder.read(String.self)
    }
}

@Suite("Wire codec", .timeLimit(.minutes(3)))
struct CodecTests {
    func roundTrip<T: WireSerializable & Equatable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bytes = value.wireEncoded()
        #expect(try T(wireBytes: bytes) == value, sourceLocation: sourceLocation)
        // Every strict prefix is an error, never a crash.
        for length in 0..<bytes.count {
            #expect(throws: WireError.self, "prefix \(length) of \(bytes.count)", sourceLocation: sourceLocation) {
                try T(wireBytes: Array(bytes[..<length]))
            }
        }
        // A trailing byte is an error too.
        #expect(throws: WireError.self, sourceLocation: sourceLocation) { try T(wireBytes: bytes + [0]) }
    }

    @Test("numbers, booleans and strings round-trip and reject truncation")
    func scalars() throws {
        try roundTrip(Int.min)
        try roundTrip(Int.max)
        try roundTrip(UInt.max)
        try roundTrip(Int8(-7))
        try roundTrip(Int16.min)
        try roundTrip(Int32(123_456))
        try roundTrip(Int64(-1))
        try roundTrip(UInt8(255))
        try roundTrip(UInt16(65_535))
        try roundTrip(UInt32(7))
        try roundTrip(UInt64.max)
        try roundTrip(Float(-0.0))
        try roundTrip(Double.infinity)
        try roundTrip(Double.pi)
        try roundTrip(true)
        try roundTrip("")
        try roundTrip("naïve 日本語 🧮")
        #expect(try Double(wireBytes: Double.nan.wireEncoded()).isNaN)
    }

    @Test("collections, optionals and custom types round-trip")
    func composites() throws {
        try roundTrip([Float](repeating: 1.5, count: 1000))
        try roundTrip([Int]())
        try roundTrip([1, -2, 3])
        try roundTrip(["a", "bc", ""])
        try roundTrip([[1.0, 2.0], [], [3.0]])
        try roundTrip([UInt8](0...255))
        try roundTrip([true, false, true])
        try roundTrip(Int?.none)
        try roundTrip(Optional("x"))
        try roundTrip(["one": 1, "two": 2])
        try roundTrip(Point(x: 2.5, label: "p"))
        try roundTrip([Point(x: 1, label: "a"), Point(x: -1, label: "b")])
        try roundTrip(ObjectID(session: 0xDEAD_BEEF, sequence: 42))
    }

    @Test("tensors of every dtype round-trip with their shapes")
    func tensors() throws {
        try roundTrip(try Tensor<Float>.randomNormal([3, 5], seed: 1))
        try roundTrip(try Tensor<Double>.randomUniform([7], seed: 2))
        try roundTrip(try Tensor<Int32>(shape: [2, 2], scalars: [1, -2, 3, Int32.max]))
        try roundTrip(try Tensor<Int64>.arange(10))
        try roundTrip(try Tensor<UInt8>(shape: [3], scalars: [0, 128, 255]))
        try roundTrip(Tensor<Bool>([true, false]))
        try roundTrip(try Tensor<Float>.zeros([0, 4]))
        try roundTrip(Tensor<Double>(scalar: 3))
        try roundTrip(AnyTensor(try Tensor<Float>.randomNormal([2, 2], seed: 3)))
        // A transposed view travels as its row-major values.
        let view = try Tensor<Float>.randomNormal([2, 3], seed: 4).transposed()
        #expect(try Tensor<Float>(wireBytes: view.wireEncoded()) == view.contiguous())
        // The wrong element type is a typed mismatch.
        #expect(throws: WireError.self) { try Tensor<Double>(wireBytes: Tensor<Float>([1]).wireEncoded()) }
    }

    @Test(
        "corrupt input is a typed error",
        arguments: [
            [UInt8(2)],  // Bool that is neither 0 nor 1
            [3, 0xFF, 0xFE, 0xFD],  // String of invalid UTF-8
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // varint past 64 bits
            [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2, 3],  // a 4-billion-element array in 8 bytes
        ])
    func corrupt(bytes: [UInt8]) {
        #expect(throws: WireError.self) { try Bool(wireBytes: bytes) }
        #expect(throws: WireError.self) { try String(wireBytes: bytes) }
        #expect(throws: WireError.self) { try [Float](wireBytes: bytes) }
        #expect(throws: WireError.self) { try [String](wireBytes: bytes) }
        #expect(throws: WireError.self) { try Tensor<Float>(wireBytes: bytes) }
    }

    @Test("a tensor whose shape has no elements but overflowing strides is a typed error, not a trap")
    func tensorShapeOverflow() {
        var encoder = WireEncoder()
        encoder.write(DType.float32.rawValue)
        encoder.writeLength(3)
        for dimension in [0, 1 << 32, 1 << 32] { encoder.writeLength(dimension) }
        encoder.writeLength(0)
        encoder.write(UInt8(0))
        #expect(throws: WireError.self) { try AnyTensor(wireBytes: encoder.bytes) }
        #expect(throws: WireError.self) { try Tensor<Float>(wireBytes: encoder.bytes) }
    }

    @Test("frames round-trip and reject other versions, truncation and oversized payloads")
    func frames() throws {
        let frame = WireFrame(kind: 3, metadata: ["traceparent": "00-abc-def-01"], payload: Array(0..<200))
        let bytes = frame.encoded()
        #expect(try WireFrame(decoding: bytes) == frame)
        for length in 0..<bytes.count {
            #expect(throws: WireError.self) { try WireFrame(decoding: Array(bytes[..<length])) }
        }
        var otherVersion = bytes
        otherVersion[0] = 99
        #expect(throws: WireError.unsupportedVersion(99)) { try WireFrame(decoding: otherVersion) }
        var encoder = WireEncoder()
        encoder.write(WireFrame.currentVersion)
        encoder.write(UInt16(1))
        encoder.writeLength(0)
        encoder.writeLength(WireFrame.maximumPayload + 1)
        #expect(throws: WireError.self) { try WireFrame(decoding: encoder.bytes) }
        #expect(WireFrame.parseHeader(encoder.bytes) == nil)

        // The header alone: what a transport reads before copying a large payload once.
        let header = frame.encodedHeader()
        let parsed = try #require(WireFrame.parseHeader(header + Array(bytes[header.count..<(header.count + 10)])))
        #expect(parsed.headerLength == header.count && parsed.payloadLength == 200)
        #expect(parsed.frame.kind == 3 && parsed.frame.metadata == frame.metadata && parsed.frame.payload.isEmpty)
        for length in 0..<header.count { #expect(WireFrame.parseHeader(Array(header[..<length])) == nil) }
        #expect(WireFrame.parseHeader(otherVersion) == nil)
    }
}

struct TrainingConfig: WireCodable, Equatable {
    var learningRate: Double
    var layers: [Int]
    var name: String?
}

@Suite("Codable bridge", .timeLimit(.minutes(3)))
struct CodableBridgeTests {
    @Test("Codable types adopt WireCodable and round-trip; damage is a typed error")
    func bridge() throws {
        let config = TrainingConfig(learningRate: 0.01, layers: [64, 32, 10], name: "mlp")
        let bytes = config.wireEncoded()
        #expect(try TrainingConfig(wireBytes: bytes) == config)
        #expect([config, config].wireEncoded().count > bytes.count)
        for length in [0, 1, bytes.count / 2, bytes.count - 1] {
            #expect(throws: WireError.self) { try TrainingConfig(wireBytes: Array(bytes[..<length])) }
        }
        var damaged = bytes
        damaged[damaged.count / 2] ^= 0xFF
        damaged[damaged.count / 2 + 1] ^= 0xFF
        #expect(throws: WireError.self) { try TrainingConfig(wireBytes: damaged) }
    }

    @Test("a WireCodable value is a task argument and result, through the codec too", arguments: [false, true])
    func inTasks(codec: Bool) async throws {
        let widen = RemoteFunction("widen") { (config: TrainingConfig) async throws -> TrainingConfig in
            TrainingConfig(learningRate: config.learningRate * 2, layers: config.layers.map { $0 * 2 }, name: config.name)
        }
        let cluster = try await Cluster.start(.inProcess(workers: 1, routesThroughCodec: codec), registry: Registry().function(widen))
        let result = try await cluster.submit(widen, TrainingConfig(learningRate: 0.5, layers: [1, 2], name: nil)).get()
        #expect(result == TrainingConfig(learningRate: 1, layers: [2, 4], name: nil))
        await cluster.shutdown()
    }
}
