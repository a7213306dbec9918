import CZlib

/// gzip and zlib decompression through the system's zlib.
public enum Gzip {
    /// Whether `bytes` start with the gzip magic number (1f 8b).
    public static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// The decompressed contents of gzip (or zlib) data; concatenated gzip members are joined, as
    /// `gunzip` does.
    ///
    /// - Parameters:
    ///   - bytes: the compressed data.
    ///   - limit: the most bytes to produce; a larger output (a "zip bomb") is an error.
    /// - Throws: ``TensorIOError/corrupt(what:reason:)`` for damaged data,
    ///   ``TensorIOError/truncated(what:expected:actual:)`` when the stream ends early.
    public static func decompress(_ bytes: [UInt8], limit: Int = 1 << 32) throws(TensorIOError) -> [UInt8] {
        guard bytes.count <= Int(UInt32.max) else { throw .tooLarge(what: "compressed gzip input", limit: Int(UInt32.max)) }
        var stream = z_stream()
        // 15 window bits + 32: detect gzip or zlib headers automatically.
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt(what: "gzip data", reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(Swift.min(limit, bytes.count * 4))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var input = bytes
        var failure: TensorIOError?
        input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { target -> Int32 in
                    stream.next_out = target.baseAddress
                    stream.avail_out = UInt32(target.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                output.append(contentsOf: chunk[0..<produced])
                if output.count > limit {
                    failure = .tooLarge(what: "decompressed gzip data", limit: limit)
                    return
                }
                switch status {
                case Z_STREAM_END:
                    // Another member may follow; skip trailing zero padding.
                    while stream.avail_in > 0 && stream.next_in.pointee == 0 {
                        stream.next_in += 1
                        stream.avail_in -= 1
                    }
                    if stream.avail_in == 0 { return }
                    inflateReset(&stream)
                case Z_OK:
                    if stream.avail_in == 0 && produced == 0 {
                        failure = .truncated(what: "gzip data", expected: bytes.count + 1, actual: bytes.count)
                        return
                    }
                case Z_BUF_ERROR:
                    if stream.avail_in == 0 {
                        failure = .truncated(what: "gzip data", expected: bytes.count + 1, actual: bytes.count)
                        return
                    }
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    failure = .corrupt(what: "gzip data", reason: message)
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }
}
