import NIOCore

/// The limit on an incoming frame's length, shared by the decoder and the connection handler on
/// one event loop: tiny until the handshake completes, then the transport's cap.
final class FrameLimit {
    var bytes: Int
    init(_ bytes: Int) { self.bytes = bytes }
}

/// Splits a TCP stream into frames: a 4-byte little-endian length, then that many bytes.
///
/// A length above the current limit closes the connection before any of the frame is buffered,
/// so a peer cannot make this node allocate by announcing a huge frame.
struct LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let limit: FrameLimit

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self) else {
            return .needMoreData
        }
        guard Int(length) <= limit.bytes else { throw FrameTooLarge(length: Int(length), limit: limit.bytes) }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}

/// A peer announced a frame longer than allowed.
struct FrameTooLarge: Error, CustomStringConvertible {
    let length: Int
    let limit: Int
    var description: String { "a frame of \(length) bytes exceeds the \(limit)-byte limit" }
}

extension ByteBuffer {
    /// Appends `body` as one length-prefixed frame.
    mutating func writeFrame(_ body: [UInt8]) {
        writeInteger(UInt32(body.count), endianness: .little)
        writeBytes(body)
    }
}
