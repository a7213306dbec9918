/// The start of a large frame that is still arriving: its kind, the first bytes of its payload,
/// and the payload's whole length.
public struct IncomingFrameHead: Sendable {
    /// What the payload holds (see `RuntimeMessage`).
    public let kind: UInt16
    /// The payload's first bytes (a few hundred at most: enough for a message's header).
    public let payloadPrefix: [UInt8]
    /// The length of the whole payload, `payloadPrefix` included.
    public let payloadLength: Int

    public init(kind: UInt16, payloadPrefix: [UInt8], payloadLength: Int) {
        self.kind = kind
        self.payloadPrefix = payloadPrefix
        self.payloadLength = payloadLength
    }
}

/// Takes a large incoming frame's payload as it arrives, in place of the frame being gathered
/// into an array and delivered whole: the runtime writes an object's chunks straight into the
/// memory the object is assembled in, so each byte is copied once after the socket.
///
/// A transport calls a placement on the connection's thread only, in order: ``write(_:)`` with
/// consecutive pieces that together are exactly the payload (from its first byte, the prefix
/// included), then ``finish()`` once. A connection that closes first drops the placement
/// without calling ``finish()``.
public protocol PayloadPlacement: AnyObject {
    /// Takes the next bytes of the payload, read only during the call.
    func write(_ piece: UnsafeRawBufferPointer)
    /// Every byte of the payload was written: the frame counts as delivered.
    func finish()
}

/// Chooses where a large frame's payload goes as it arrives: a placement for the frame from
/// `source`, or `nil` to have the frame delivered whole to the receiver as usual. Called on the
/// connection's thread once the frame's first bytes are in, and only for a frame from the peer
/// that authenticated on the connection.
public typealias PayloadPlacer = @Sendable (_ head: IncomingFrameHead, _ source: PeerID) -> (any PayloadPlacement)?

extension PayloadPlacement {
    /// Writes all of `payload` in pieces of at most `pieceSize` bytes, then finishes, as a
    /// connection that reads it in pieces would (for tests and the fuzz target).
    func place(_ payload: [UInt8], inPiecesOf pieceSize: Int) {
        payload.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + max(pieceSize, 1), bytes.count)
                write(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                offset = end
            }
        }
        finish()
    }
}
