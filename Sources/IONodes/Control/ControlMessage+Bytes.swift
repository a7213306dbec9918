import Foundation
import IORuntime

/// The two control messages that carry an executable's bytes travel as raw bytes, not as JSON:
/// a debug build is over 80 MB, and base64 plus a JSON parse of every part made fetching one
/// take over a minute on a loaded machine.
///
/// - `.writeExecutable`, frame kind ``uploadFrameKind``: request, offset, hash (a string), bytes.
/// - `.bytes`, frame kind ``bytesFrameKind``: request, bytes.
extension ControlMessage {
    static let uploadFrameKind: UInt16 = 0x4E02
    static let bytesFrameKind: UInt16 = 0x4E03
    /// The most bytes one part carries: the frame stays under the control transport's cap.
    static let maximumPart = 1 << 20

    /// The binary frame of a message that carries bytes, or nil for one that goes as JSON.
    func bytesFrame() -> WireFrame? {
        switch self {
        case .writeExecutable(let request, let hash, let offset, let bytes):
            var encoder = WireEncoder(reservingCapacity: bytes.count + 96)
            encoder.write(request)
            encoder.write(UInt64(offset))
            encoder.write(hash)
            bytes.withUnsafeBytes { encoder.writeBlock($0) }
            return WireFrame(kind: Self.uploadFrameKind, payload: encoder.bytes)
        case .bytes(let request, let bytes):
            var encoder = WireEncoder(reservingCapacity: bytes.count + 32)
            encoder.write(request)
            bytes.withUnsafeBytes { encoder.writeBlock($0) }
            return WireFrame(kind: Self.bytesFrameKind, payload: encoder.bytes)
        default:
            return nil
        }
    }

    /// The message in a binary frame.
    ///
    /// - Throws: ``ControlError/malformed(_:)`` for a truncated frame, trailing bytes, a part over
    ///   ``maximumPart`` or an offset past the executable size cap.
    init(bytesFrame frame: WireFrame) throws {
        var decoder = WireDecoder(frame.payload)
        do {
            let request = try decoder.read(UInt64.self)
            if frame.kind == Self.uploadFrameKind {
                let offset = try decoder.read(UInt64.self)
                let hash = try decoder.read(String.self)
                let bytes = try decoder.readBlock()
                guard offset <= UInt64(ExecutableStore.maximumSize) else {
                    throw ControlError.malformed("an executable part at offset \(offset)")
                }
                self = .writeExecutable(request: request, hash: hash, offset: Int(offset), bytes: Data(bytes))
            } else {
                self = .bytes(request: request, Data(try decoder.readBlock()))
            }
        } catch let error as WireError {
            throw ControlError.malformed("an executable part: \(error)")
        }
        guard decoder.isAtEnd else { throw ControlError.malformed("\(decoder.remaining) bytes after an executable part") }
        switch self {
        case .writeExecutable(_, _, _, let bytes), .bytes(_, let bytes):
            guard bytes.count <= Self.maximumPart else { throw ControlError.malformed("an executable part of \(bytes.count) bytes") }
        default: break
        }
    }
}
