import CChecksum

#if canImport(Glibc)
    import Glibc
#endif

/// How objects move between the processes of a cluster: small ones inline in task messages,
/// large ones pulled by the node that needs them, in checksummed chunks.
enum ObjectTransfer {
    /// Objects up to this size travel inside task assignments and completions (as in Ray).
    static let inlineLimit = 100 * 1024
    /// The size of the pieces a large object is sent in; every chunk but the last is this long.
    static let chunkSize = 256 << 10
    /// The largest object a puller assembles: this machine's physical memory. A holder that
    /// claims more fails the pull instead of making this process reserve what it cannot hold.
    static let maximumObjectBytes: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return 1 << 40 }
        return pages.multipliedReportingOverflow(by: pageSize).overflow ? Int.max : pages * pageSize
    }()

    /// The CRC-32C of `bytes`.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        iocompute_crc32c(0, bytes.baseAddress, bytes.count)
    }

    /// Sends an object's bytes in chunks from `sender` to `destination`, each once the
    /// connection has room, so that a slow reader holds back the sender rather than memory
    /// filling with queued chunks.
    static func sendChunks(
        of id: ObjectID, typeName: String, bytes: [UInt8], through sender: any MessageSending & ChunkSending, to destination: PeerID
    ) async throws {
        try await sendChunks(of: id, typeName: typeName, count: bytes.count, through: sender, to: destination) { ChunkBytes(bytes[$0]) }
    }

    /// Sends bytes held in memory of their own (a pulled object, a segment, an encoding kept for
    /// reuse) in chunks read in place.
    static func sendChunks(
        of id: ObjectID, typeName: String, bytes: SharedBytes, through sender: any MessageSending & ChunkSending, to destination: PeerID
    ) async throws {
        try await sendChunks(of: id, typeName: typeName, count: bytes.bytes.count, through: sender, to: destination) {
            ChunkBytes(bytes, range: $0)
        }
    }

    /// Sends `payload` in chunks: its bytes as they are held; a value that lends its large blocks
    /// from them in place (``WireLendingSerializable``); any other value encoded first (a large
    /// one into memory kept for reuse rather than a fresh array; see ``AssemblyMemory``).
    static func sendChunks(
        of id: ObjectID, payload: Payload, through sender: any MessageSending & ChunkSending, to destination: PeerID
    ) async throws {
        switch payload {
        case .bytes(let typeName, let bytes):
            try await sendChunks(of: id, typeName: typeName, bytes: bytes, through: sender, to: destination)
        case .shared(let typeName, let bytes):
            try await sendChunks(of: id, typeName: typeName, bytes: bytes, through: sender, to: destination)
        case .value(let value):
            let typeName = wireTypeName(of: value)
            if value is any WireLendingSerializable {
                let gathered = GatheredEncoding(value)
                try await sendChunks(of: id, typeName: typeName, count: gathered.count, through: sender, to: destination) {
                    gathered.chunk($0)
                }
            } else if let encoded = AssemblyMemory.encode(value) {
                try await sendChunks(of: id, typeName: typeName, bytes: encoded, through: sender, to: destination)
            } else {
                try await sendChunks(of: id, typeName: typeName, bytes: value.wireEncoded(), through: sender, to: destination)
            }
        }
    }

    private static func sendChunks(
        of id: ObjectID, typeName: String, count: Int, through sender: any MessageSending & ChunkSending, to destination: PeerID,
        chunk: (Range<Int>) -> ChunkBytes
    ) async throws {
        var offset = 0
        repeat {
            try await sender.waitUntilWritable(to: destination)
            let end = min(offset + chunkSize, count)
            // The checksum is computed as the bytes are copied to the connection (see `ObjectChunk.send`).
            try sender.trySendChunk(
                ObjectChunk(id: id, typeName: typeName, totalCount: count, offset: offset, checksum: nil, bytes: chunk(offset..<end)),
                to: destination)
            offset = end
        } while offset < count
    }
}

/// The memory a pulled object's chunks are assembled in: 64-byte aligned, so that a tensor
/// decoded from it borrows its elements (they start 64-byte aligned in the encoding) rather
/// than copying them again.
final class AssemblyBuffer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int
    /// Set once `sealed()` handed the memory on; a pull that fails before frees it here.
    private var handedOver = false

    /// Room for `count` bytes; `nil` when the memory cannot be had (a size a peer made up is
    /// refused by the caller, never a crash here). Large objects are assembled on huge pages,
    /// in memory kept from earlier pulls where one of the same size was (``AssemblyMemory``).
    init?(count: Int) {
        guard let pointer = AssemblyMemory.take(count) else { return nil }
        self.count = count
        base = pointer
    }

    /// The assembled object, read-only from now on; the memory is given back when the last
    /// user of the bytes is gone.
    func sealed() -> SharedBytes {
        handedOver = true
        let (address, count) = (Int(bitPattern: base), count)
        return SharedBytes(bytes: UnsafeRawBufferPointer(start: base, count: count)) {
            AssemblyMemory.give(UnsafeMutableRawPointer(bitPattern: address)!, count: count)
        }
    }

    deinit {
        if !handedOver { AssemblyMemory.give(base, count: count) }
    }
}

/// A sender of object chunks that reports failures (a chunk that cannot go fails the pull).
protocol ChunkSending {
    func trySendChunk(_ chunk: ObjectChunk, to destination: PeerID) throws
}
