// Tensors on the wire: the bridge between the tensor layer and the runtime, so that tensors can
// be task arguments, results and objects without `IORuntime` knowing about tensors.
//
// Layout: dtype (1 byte), rank and dimensions (varints), the element byte count (varint), a
// padding count p < 64 (1 byte) and p zero bytes, then the row-major element bytes, which start
// at a multiple of 64 bytes from the start of the encoding. An encoding in shared memory (a
// page-aligned segment) thus holds aligned elements, and a tensor decoded from it borrows them
// instead of copying. Elsewhere they are copied once each way; a tensor sent to another machine
// in chunks is read from its own buffer (it lends its elements, `WireLendingSerializable`). In
// process, tensors are passed by reference and never encoded.
import IORuntime
import IOTensor

extension AnyTensor: TaskArgumentConvertible {}
extension AnyTensor: WireLendingSerializable {
    public typealias ArgumentValue = AnyTensor

    public func encode(to encoder: inout WireEncoder) {
        encoder.write(dtype.rawValue)
        encoder.writeLength(shape.count)
        for dimension in shape { encoder.writeLength(dimension) }
        encoder.writeLength(byteCount)
        let padding = (Self.alignment - (encoder.count + 1) % Self.alignment) % Self.alignment
        encoder.write(UInt8(padding))
        for _ in 0..<padding { encoder.write(UInt8(0)) }
        // The elements stay in the tensor's buffer, unchanged, while a copy of the tensor lives
        // (a write to any copy copies the buffer first).
        withUnsafeBytes { encoder.writeRawBytes($0, keptAliveBy: LentElements(tensor: self)) }
    }

    /// Where the elements start in an encoding, in bytes.
    static let alignment = 64

    public init(from decoder: inout WireDecoder) throws(WireError) {
        let code = try decoder.read(UInt8.self)
        guard let dtype = DType(rawValue: code) else { throw .invalid(what: "tensor", reason: "unknown dtype \(code)") }
        let rank = try decoder.readLength()
        guard rank <= 64 else { throw .invalid(what: "tensor", reason: "rank \(rank) is implausible") }
        var shape: [Int] = []
        for _ in 0..<rank { shape.append(try decoder.readLength()) }
        let byteCount = try decoder.readLength()
        let padding = Int(try decoder.read(UInt8.self))
        guard padding < Self.alignment else { throw .invalid(what: "tensor", reason: "padding of \(padding) bytes") }
        try decoder.readRawBytes(count: padding, "tensor padding") { _ in }
        do {
            if let (raw, owner) = try decoder.readBorrowedBytes(count: byteCount, "tensor data") {
                self = try AnyTensor(dtype: dtype, shape: shape, borrowing: raw, owner: owner)
            } else {
                self = try decoder.readRawBytes(count: byteCount, "tensor data") { raw in
                    Result { () throws(TensorError) -> AnyTensor in try AnyTensor(dtype: dtype, shape: shape, bytes: raw) }
                }.get()
            }
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
extension Tensor: WireLendingSerializable {
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

/// Keeps a tensor, and so the buffer its encoding lends elements from, alive.
private final class LentElements: Sendable {
    let tensor: AnyTensor

    init(tensor: AnyTensor) { self.tensor = tensor }
}
