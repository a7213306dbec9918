import IORuntime
import NIOCore

/// What the frame splitter and the connection handler of one connection share, on its event
/// loop: the limit on an incoming frame's length (tiny until the handshake completes, then the
/// transport's cap), and the peer that authenticated, once one has.
final class FrameRules {
    var maximumLength: Int
    var peer: PeerID?
    init(maximumLength: Int) { self.maximumLength = maximumLength }
}

/// Finds a placement for a large frame's payload: `(head, source, destination)`.
typealias FramePlacer = (IncomingFrameHead, PeerID, PeerID) -> (any PayloadPlacement)?

/// Splits a TCP stream into frames: a 4-byte little-endian length, then that many bytes.
///
/// A length above the current limit closes the connection before any of the frame is buffered,
/// so a peer cannot make this node allocate by announcing a huge frame.
///
/// A large routed frame (an object chunk of 256 KiB, which often spans reads) is parsed from its
/// first bytes, and its payload, read by read, is either handed to a ``PayloadPlacement`` the
/// transport's placer chose, when the frame comes from the peer that authenticated (an object
/// chunk goes straight into the memory its object is assembled in), or copied once into the
/// array the runtime takes. A smaller frame that arrives whole within one read is passed on as
/// a slice of it, without a copy; one that spans reads is copied once into a buffer of its
/// length.
///
/// NIO's `ByteToMessageHandler` instead gathered every read into a buffer that grows by
/// reallocation and compacts by moving what is left, and the payload was copied out after that:
/// three passes over each byte of a large transfer where one is needed.
final class FrameSplitter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = IncomingFrame

    /// Frames from this size up are parsed from their first bytes and their payloads placed or
    /// copied once.
    static let directPayload = 64 << 10
    /// The most of a large frame's first bytes read to parse its route and header.
    static let headLimit = 8 + 512

    private enum State {
        /// Between frames.
        case idle
        /// Fewer than four bytes of a length prefix have arrived.
        case prefix(ByteBuffer)
        /// A frame's first bytes have arrived, in a buffer of its length; `missing` are to come.
        case frame(ByteBuffer, missing: Int)
        /// The first bytes of a large frame of `length` bytes, until its route and header parse.
        case head(ByteBuffer, length: Int)
        /// A large routed frame's payload, filling; `missing` bytes are to come.
        case payload(source: UInt32, destination: UInt32, WireFrame, [UInt8], missing: Int)
        /// A large frame's payload, handed to `placement` as it arrives; `missing` bytes are to come.
        case placing(any PayloadPlacement, missing: Int)
        /// A frame broke the limit: the connection is closing, and nothing more is read.
        case failed
    }

    private var state = State.idle
    let rules: FrameRules
    private let placer: FramePlacer?

    init(rules: FrameRules, placer: FramePlacer? = nil) {
        self.rules = rules
        self.placer = placer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        while input.readableBytes > 0 {
            // Each case takes its buffer out of `state` before writing to it: a buffer that
            // `state` still holds would be copied whole on every write.
            let current = state
            state = .idle
            switch current {
            case .failed:
                state = .failed
                return
            case .frame(var frame, let missing):
                let take = min(missing, input.readableBytes)
                var piece = input.readSlice(length: take)!
                frame.writeBuffer(&piece)
                if take == missing {
                    context.fireChannelRead(wrapInboundOut(.bytes(frame)))
                } else {
                    state = .frame(frame, missing: missing - take)
                }
            case .payload(let source, let destination, var frame, var payload, let missing):
                let take = min(missing, input.readableBytes)
                input.readWithUnsafeReadableBytes { bytes in
                    payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[..<take]))
                    return take
                }
                if take == missing {
                    frame.payload = payload
                    context.fireChannelRead(wrapInboundOut(.routed(source: source, destination: destination, frame)))
                } else {
                    state = .payload(source: source, destination: destination, frame, payload, missing: missing - take)
                }
            case .placing(let placement, let missing):
                let take = min(missing, input.readableBytes)
                input.readWithUnsafeReadableBytes { bytes in
                    placement.write(UnsafeRawBufferPointer(rebasing: bytes[..<take]))
                    return take
                }
                if take == missing {
                    placement.finish()
                } else {
                    state = .placing(placement, missing: missing - take)
                }
            case .head(var head, let length):
                let wanted = min(length, Self.headLimit)
                var piece = input.readSlice(length: min(wanted - head.readableBytes, input.readableBytes))!
                head.writeBuffer(&piece)
                if head.readableBytes < wanted {
                    state = .head(head, length: length)
                } else {
                    parse(head, length: length, context: context)
                }
            case .prefix(var prefix):
                var piece = input.readSlice(length: min(4 - prefix.readableBytes, input.readableBytes))!
                prefix.writeBuffer(&piece)
                if prefix.readableBytes < 4 {
                    state = .prefix(prefix)
                } else {
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
        guard length <= rules.maximumLength else {
            state = .failed
            context.fireErrorCaught(FrameTooLarge(length: length, limit: rules.maximumLength))
            return
        }
        if length >= Self.directPayload {
            // The first bytes are read into `head` by the caller's loop, even when the whole
            // frame is in this read: its payload may be placed.
            state = .head(context.channel.allocator.buffer(capacity: Self.headLimit), length: length)
            return
        }
        if input.readableBytes >= length {
            context.fireChannelRead(wrapInboundOut(.bytes(input.readSlice(length: length)!)))
            return
        }
        var frame = context.channel.allocator.buffer(capacity: length)
        let missing = length - input.readableBytes
        frame.writeBuffer(&input)
        state = .frame(frame, missing: missing)
    }

    /// Parses a large frame's first bytes: its route and header, when they are well formed and
    /// add up to its length, and then places or fills its payload from here on; otherwise the
    /// frame is gathered whole, for the connection to judge.
    private func parse(_ head: ByteBuffer, length: Int, context: ChannelHandlerContext) {
        var head = head
        let bytes = head.readBytes(length: head.readableBytes)!
        let source = UInt32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        let destination = UInt32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) })
        guard let (frame, headerLength, payloadLength) = WireFrame.parseHeader(Array(bytes[8...])),
            8 + headerLength + payloadLength == length
        else {
            var whole = context.channel.allocator.buffer(capacity: length)
            whole.writeBytes(bytes)
            state = .frame(whole, missing: length - bytes.count)
            return
        }
        let prefix = Array(bytes[(8 + headerLength)...])
        // Only a frame in the name of the authenticated peer is placed: any other is gathered
        // for the connection handler, which closes the connection over it.
        if let peer = rules.peer, source == peer.rawValue, frame.metadata.isEmpty, let placer,
            let placement = placer(
                IncomingFrameHead(kind: frame.kind, payloadPrefix: prefix, payloadLength: payloadLength), peer, PeerID(destination))
        {
            prefix.withUnsafeBytes { placement.write($0) }
            if prefix.count == payloadLength {
                placement.finish()
            } else {
                state = .placing(placement, missing: payloadLength - prefix.count)
            }
            return
        }
        var payload: [UInt8] = []
        payload.reserveCapacity(payloadLength)
        payload.append(contentsOf: prefix)
        state = .payload(source: source, destination: destination, frame, payload, missing: payloadLength - payload.count)
    }
}

/// What the splitter passes on: a frame's bytes, or a large routed frame that spanned reads,
/// already parsed, its payload in place.
enum IncomingFrame {
    case bytes(ByteBuffer)
    case routed(source: UInt32, destination: UInt32, WireFrame)
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
