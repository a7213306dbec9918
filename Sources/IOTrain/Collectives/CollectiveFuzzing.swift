import IORuntime
import IORuntimeTensor
import IOTensor

/// Entry points for the fuzz target (`Fuzz/`): what a rank decodes from its neighbours. Not API;
/// kept behind an SPI so that normal clients never see it.
@_spi(Fuzzing)
public enum CollectiveFuzzing {
    /// Decodes `bytes` as a collective message, as the shape header of a point-to-point send
    /// (checked before anything is allocated for it), and as a tensor on the wire; each must
    /// return or throw, never trap or allocate what the bytes claim without checking.
    public static func decodeEverything(_ bytes: [UInt8]) {
        if let message = try? CollectiveMessage(decoding: bytes, group: "fuzz"), message.elementSize == 8 {
            let dimensions = message.withElements { raw in
                (0..<(raw.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            }
            if let count = CollectiveGroup.receivableCount(dimensions, elementSize: 4) {
                precondition(count >= 0, "a receivable count is never negative")
            }
        }
        _ = try? AnyTensor(wireBytes: bytes)
        _ = try? Tensor<Float>(wireBytes: bytes)
    }
}
