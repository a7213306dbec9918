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
///
/// A frame that arrives whole within one read is passed on as a slice of it, without a copy. One
/// that spans reads (an object chunk of 256 KiB spans many TLS records) is copied once into a
/// buffer of exactly its length. NIO's `ByteToMessageHandler` instead gathers every read into a
/// buffer that grows by reallocation and compacts by moving what is left, which cost two passes
/// over each byte of a large transfer and most of its fresh pages.
final class FrameSplitter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State {
        /// Between frames.
        case idle
        /// Fewer than four bytes of a length prefix have arrived.
        case prefix(ByteBuffer)
        /// A frame's first bytes have arrived, in a buffer of its length; `missing` are to come.
        case frame(ByteBuffer, missing: Int)
        /// A frame broke the limit: the connection is closing, and nothing more is read.
        case failed
    }

    private var state = State.idle
    let limit: FrameLimit

    init(limit: FrameLimit) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        while input.readableBytes > 0 {
            switch state {
            case .failed:
                return
            case .frame(var frame, let missing):
                let take = min(missing, input.readableBytes)
                var piece = input.readSlice(length: take)!
                frame.writeBuffer(&piece)
                if take == missing {
                    state = .idle
                    context.fireChannelRead(wrapInboundOut(frame))
                } else {
                    state = .frame(frame, missing: missing - take)
                }
            case .prefix(var prefix):
                var piece = input.readSlice(length: min(4 - prefix.readableBytes, input.readableBytes))!
                prefix.writeBuffer(&piece)
                if prefix.readableBytes < 4 {
                    state = .prefix(prefix)
                } else {
                    state = .idle
                    begin(length: prefix.readInteger(endianness: .little, as: UInt32.self)!, from: &input, context: context)
                }
            case .idle:
                guard let length = input.readInteger(endianness: .little, as: UInt32.self) else {
                    var prefix = context.channel.allocator.buffer(capacity: 4)
                    prefix.writeBuffer(&input)
                    state = .prefix(prefix)
                    return
                }
                begin(length: length, from: &input, context: context)
            }
        }
    }

    /// Starts a frame of `length` bytes whose prefix was just read: passes it on when `input`
    /// holds all of it, otherwise keeps what there is.
    private func begin(length: UInt32, from input: inout ByteBuffer, context: ChannelHandlerContext) {
        let length = Int(length)
        guard length <= limit.bytes else {
            state = .failed
            context.fireErrorCaught(FrameTooLarge(length: length, limit: limit.bytes))
            return
        }
        if input.readableBytes >= length {
            context.fireChannelRead(wrapInboundOut(input.readSlice(length: length)!))
            return
        }
        var frame = context.channel.allocator.buffer(capacity: length)
        let missing = length - input.readableBytes
        frame.writeBuffer(&input)
        state = .frame(frame, missing: missing)
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
