/// The geometry of a 2-D sliding window over [batch, channels, height, width] inputs: the
/// windows of a convolution (``Tensor/im2col(_:)``) or of a pooling
/// (``Tensor/maxPool2d(kernel:stride:padding:)``).
///
/// Windows start every `stride` elements of the input padded by `padding` zeros on each side, as
/// in PyTorch's `Conv2d` and `MaxPool2d`.
///
/// ```swift
/// let window = try Window2D([64, 16, 8, 8], kernel: (3, 3), stride: 1, padding: 1)
/// window.positions   // 64 windows per image
/// window.patch       // 144 elements per window
/// ```
public struct Window2D: Equatable, Sendable {
    public let batch: Int, channels: Int, height: Int, width: Int
    public let kernelHeight: Int, kernelWidth: Int
    public let stride: Int, padding: Int

    /// Windows along the height.
    public var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    /// Windows along the width.
    public var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Windows per image.
    public var positions: Int { outputHeight * outputWidth }
    /// Elements per window: channels × kernel height × kernel width.
    public var patch: Int { channels * kernelHeight * kernelWidth }
    /// The shape of an input: [batch, channels, height, width].
    public var inputShape: [Int] { [batch, channels, height, width] }

    /// The windows of `kernel` over an input of `shape`.
    ///
    /// - Throws: ``TensorError/invalidArgument(operation:reason:)`` (naming `operation`) for a
    ///   shape that is not of rank 4, a kernel or stride below 1, negative padding, or a kernel
    ///   larger than the padded input.
    public init(_ shape: [Int], kernel: (Int, Int), stride: Int = 1, padding: Int = 0, operation: String = "window")
        throws(TensorError)
    {
        guard shape.count == 4 else {
            throw .invalidArgument(operation: operation, reason: "expects [batch, channels, height, width], got \(shape)")
        }
        guard kernel.0 > 0, kernel.1 > 0, stride > 0, padding >= 0 else {
            throw .invalidArgument(operation: operation, reason: "kernel \(kernel), stride \(stride), padding \(padding)")
        }
        (batch, channels, height, width) = (shape[0], shape[1], shape[2], shape[3])
        (kernelHeight, kernelWidth, self.stride, self.padding) = (kernel.0, kernel.1, stride, padding)
        guard height + 2 * padding >= kernelHeight, width + 2 * padding >= kernelWidth else {
            throw .invalidArgument(
                operation: operation, reason: "a \(kernel) window does not fit a \(height)×\(width) input padded by \(padding)")
        }
    }

    /// Calls `body(outputIndex, inputIndex)` for every (window position, patch element) pair
    /// that falls inside the input; `outputIndex` indexes [batch, positions, patch].
    func forEachPair(_ body: (Int, Int) -> Void) {
        for n in 0..<batch {
            for oy in 0..<outputHeight {
                for ox in 0..<outputWidth {
                    let row = (n * positions + oy * outputWidth + ox) * patch
                    for c in 0..<channels {
                        for ky in 0..<kernelHeight {
                            let y = oy * stride - padding + ky
                            guard y >= 0 && y < height else { continue }
                            for kx in 0..<kernelWidth {
                                let x = ox * stride - padding + kx
                                guard x >= 0 && x < width else { continue }
                                body(row + (c * kernelHeight + ky) * kernelWidth + kx, ((n * channels + c) * height + y) * width + x)
                            }
                        }
                    }
                }
            }
        }
    }
}
