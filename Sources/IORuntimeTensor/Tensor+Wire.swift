// Tensors on the wire: the bridge between the tensor layer and the runtime, so that tensors can
// be task arguments, results and objects without `IORuntime` knowing about tensors.
//
// Layout: dtype (1 byte), rank and dimensions (varints), then the row-major element bytes as one
// block, copied once each way. In process, tensors are passed by reference and never encoded.
import IORuntime
import IOTensor

extension AnyTensor: TaskArgumentConvertible {}
extension AnyTensor: WireSerializable {
    public typealias ArgumentValue = AnyTensor

    public func encode(to encoder: inout WireEncoder) {
        encoder.write(dtype.rawValue)
        encoder.writeLength(shape.count)
        for dimension in shape { encoder.writeLength(dimension) }
        withUnsafeBytes { encoder.writeBlock($0) }
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        let code = try decoder.read(UInt8.self)
        guard let dtype = DType(rawValue: code) else { throw .invalid(what: "tensor", reason: "unknown dtype \(code)") }
        let rank = try decoder.readLength()
        guard rank <= 64 else { throw .invalid(what: "tensor", reason: "rank \(rank) is implausible") }
        var shape: [Int] = []
        for _ in 0..<rank { shape.append(try decoder.readLength()) }
        let byteCount = try decoder.readLength()
        do {
            self = try decoder.readRawBytes(count: byteCount, "tensor data") { raw in
                Result { () throws(TensorError) -> AnyTensor in try AnyTensor(dtype: dtype, shape: shape, bytes: raw) }
            }.get()
        } catch let error as WireError {
            throw error
        } catch {
            throw .invalid(what: "tensor", reason: "\(error)")
        }
    }

    public static var wireTypeName: String { "IOTensor.AnyTensor" }
    public var wireByteCount: Int { byteCount + 32 }
}

extension Tensor: TaskArgumentConvertible {}
extension Tensor: WireSerializable {
    public typealias ArgumentValue = Tensor<Scalar>

    public func encode(to encoder: inout WireEncoder) { AnyTensor(self).encode(to: &encoder) }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        let erased = try AnyTensor(from: &decoder)
        do {
            self = try erased.tensor(as: Scalar.self)
        } catch {
            throw .typeMismatch(expected: "Tensor<\(Scalar.dtype)>", found: "Tensor<\(erased.dtype)>")
        }
    }

    public static var wireTypeName: String { "IOTensor.Tensor<\(Scalar.dtype)>" }
    public var wireByteCount: Int { count * MemoryLayout<Scalar>.stride + 32 }
}
