/// Entry points for the fuzz target (`Fuzz/`): decode untrusted bytes every way the runtime does.
/// Not API; kept behind an SPI so that normal clients never see it.
@_spi(Fuzzing)
public enum WireFuzzing {
    /// Decodes `bytes` as a frame, as the message inside a frame, and as values of several types;
    /// every path must return or throw `WireError`, never trap.
    public static func decodeEverything(_ bytes: [UInt8]) {
        if let frame = try? WireFrame(decoding: bytes) { _ = try? RuntimeMessage(frame: frame) }
        for kind in UInt16(1)...16 { _ = try? RuntimeMessage(frame: WireFrame(kind: kind, payload: bytes)) }
        assembleChunks(bytes)
        _ = try? [String](wireBytes: bytes)
        _ = try? [Double](wireBytes: bytes)
        _ = try? [[Int32]](wireBytes: bytes)
        _ = try? [String: Int](wireBytes: bytes)
        _ = try? Int?(wireBytes: bytes)
        _ = try? [Bool](wireBytes: bytes)
        _ = try? ObjectID(wireBytes: bytes)
        _ = try? ActorIdentity(wireBytes: bytes)
    }

    /// Reads `bytes` as object chunks (each a chunk message's payload, split at the first bytes'
    /// count) and feeds them to a pull, once as they are and once repeated: the assembly must
    /// fail the pull or complete it with exactly the bytes sent, never trap or over-allocate.
    static func assembleChunks(_ bytes: [UInt8]) {
        let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        let parts = [Array(bytes.dropFirst().prefix(split)), Array(bytes.dropFirst(split + 1))]
        let chunks = parts.compactMap { part -> ObjectChunk? in
            guard case .objectChunk(let chunk)? = try? RuntimeMessage(frame: WireFrame(kind: 12, payload: part)) else { return nil }
            // With its checksum made right, so that the fuzzer reaches the assembly itself.
            return ObjectChunk(
                id: chunk.id, typeName: chunk.typeName, totalCount: chunk.totalCount, offset: chunk.offset,
                checksum: chunk.bytes.withUnsafeBytes { ObjectTransfer.checksum($0) }, bytes: chunk.bytes)
        }
        // A real pull is bounded by the owner's record of the object's size and by physical
        // memory; the harness bounds it lower still, to stay within libFuzzer's memory limit.
        guard let first = chunks.first, first.totalCount <= 16 << 20 else { return }
        let puller = ObjectPuller(request: { _, _, _ in })
        _ = puller.beginPull(first.id, from: PeerID(1), expectedBytes: bytes.count % 2 == 0 ? nil : first.totalCount)
        for chunk in chunks + chunks { puller.receive(chunk, from: PeerID(1)) }
        puller.fail(first.id, ClusterError.shutDown)
        placeChunks(parts, into: first, pieceSize: bytes.count % 7 * 61 + 1)
    }

    /// Feeds the same payloads to a pull as a connection places large frames: the header read
    /// from the first bytes, then the payload in pieces of `pieceSize` bytes. Admission must
    /// refuse what does not fit and a placement must never write past its chunk.
    static func placeChunks(_ payloads: [[UInt8]], into first: ObjectChunk, pieceSize: Int) {
        let puller = ObjectPuller(request: { _, _, _ in })
        _ = puller.beginPull(first.id, from: PeerID(1))
        for payload in payloads + payloads {
            guard let header = ObjectChunk.header(from: Array(payload.prefix(512))), header.totalCount <= 16 << 20 else { continue }
            let head = IncomingFrameHead(
                kind: RuntimeMessage.Kind.objectChunk.rawValue, payloadPrefix: Array(payload.prefix(512)), payloadLength: payload.count)
            guard let placement = puller.placement(for: head, from: PeerID(1)) else { continue }
            placement.place(payload, inPiecesOf: pieceSize)
        }
        puller.fail(first.id, ClusterError.shutDown)
    }
}
