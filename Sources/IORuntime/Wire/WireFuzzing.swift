/// Entry points for the fuzz target (`Fuzz/`): decode untrusted bytes every way the runtime does.
/// Not API; kept behind an SPI so that normal clients never see it.
@_spi(Fuzzing)
public enum WireFuzzing {
    /// Decodes `bytes` as a frame, as the message inside a frame, and as values of several types;
    /// every path must return or throw `WireError`, never trap.
    public static func decodeEverything(_ bytes: [UInt8]) {
        if let frame = try? WireFrame(decoding: bytes) { _ = try? RuntimeMessage(frame: frame) }
        for kind in UInt16(1)...5 { _ = try? RuntimeMessage(frame: WireFrame(kind: kind, payload: bytes)) }
        _ = try? [String](wireBytes: bytes)
        _ = try? [Double](wireBytes: bytes)
        _ = try? [[Int32]](wireBytes: bytes)
        _ = try? [String: Int](wireBytes: bytes)
        _ = try? Int?(wireBytes: bytes)
        _ = try? [Bool](wireBytes: bytes)
        _ = try? ObjectID(wireBytes: bytes)
        _ = try? ActorIdentity(wireBytes: bytes)
    }
}
