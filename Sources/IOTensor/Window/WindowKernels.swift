// The CPU loops of the sliding-window operations, generic over the element type and
// specialized by the callers' dispatch on Float and Double.

enum WindowKernels {
    /// Patches of the input, zero outside it.
    @inline(__always)
    static func im2col<T: BinaryFloatingPoint>(_ input: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>, _ window: Window2D)
    {
        guard let source = input.baseAddress, let target = output.baseAddress else { return }
        // Every element is written when nothing is padded.
        if window.padding > 0 { output.initialize(repeating: 0) }
        forEachRun(window) { column, inputStart, count in
            // Kernel rows are short (3 or 5 elements): a plain loop beats a call to memmove, and
            // the common 3 goes without a loop.
            if count == 3 {
                (target[column], target[column + 1], target[column + 2]) =
                    (source[inputStart], source[inputStart + 1], source[inputStart + 2])
            } else {
                for k in 0..<count { target[column + k] = source[inputStart + k] }
            }
        }
    }

    /// Patch gradients added back into the input's positions.
    @inline(__always)
    static func col2im<T: BinaryFloatingPoint>(
        _ columns: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>, _ window: Window2D
    ) {
        guard let source = columns.baseAddress, let target = output.baseAddress else { return }
        output.initialize(repeating: 0)
        forEachRun(window) { column, inputStart, count in
            if count == 3 {
                target[inputStart] += source[column]
                target[inputStart + 1] += source[column + 1]
                target[inputStart + 2] += source[column + 2]
            } else {
                for k in 0..<count { target[inputStart + k] += source[column + k] }
            }
        }
    }

    /// Calls `body(columnIndex, inputIndex, count)` for each run of a kernel row that lies
    /// inside the input: `count` consecutive patch elements starting at `columnIndex` of the
    /// [batch, positions, patch] columns, read from `count` consecutive input elements.
    @inline(__always)
    static func forEachRun(_ window: Window2D, _ body: (Int, Int, Int) -> Void) {
        let (height, width, kh, kw) = (window.height, window.width, window.kernelHeight, window.kernelWidth)
        let (planeSize, patch) = (height * width, window.patch)
        var row = 0
        for n in 0..<window.batch {
            let image = n * window.channels * planeSize
            for oy in 0..<window.outputHeight {
                // The kernel rows that fall inside the input, worked out once per output row.
                let y0 = oy * window.stride - window.padding
                let (firstRow, lastRow) = (max(0, -y0), min(kh, height - y0))
                guard firstRow < lastRow else {
                    row += window.outputWidth
                    continue
                }
                for ox in 0..<window.outputWidth {
                    let x0 = ox * window.stride - window.padding
                    let first = max(0, -x0)
                    let last = min(kw, width - x0)
                    if first < last {
                        let count = last - first
                        // Walks channels and kernel rows by constant steps: no index arithmetic per run.
                        var column = row * patch + firstRow * kw + first
                        var input = image + (y0 + firstRow) * width + x0 + first
                        for _ in 0..<window.channels {
                            var (c, i) = (column, input)
                            for _ in firstRow..<lastRow {
                                body(c, i, count)
                                c += kw
                                i += width
                            }
                            column += kh * kw
                            input += planeSize
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// The maximum of each window (one channel per window), recording where it was.
    @inline(__always)
    static func maxPool<T: BinaryFloatingPoint>(
        _ input: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>, _ window: Window2D,
        _ best: UnsafeMutableBufferPointer<Int>
    ) {
        if window.padding == 0 && window.stride == window.kernelHeight && window.kernelHeight == 2 && window.kernelWidth == 2 {
            // The common 2×2 pooling: windows side by side, all four elements inside the input.
            maxPool2x2(input, output, window, best)
            return
        }
        forEachWindow(window) { position, plane, top, left in
            var value = -T.infinity
            var source = -1
            for y in max(top, 0)..<min(top + window.kernelHeight, window.height) {
                for x in max(left, 0)..<min(left + window.kernelWidth, window.width) {
                    let index = plane + y * window.width + x
                    let candidate = input[index]
                    if source < 0 || candidate > value { (value, source) = (candidate, index) }
                }
            }
            output[position] = value
            best[position] = source
        }
    }

    /// ``maxPool(_:_:_:_:)`` for unpadded 2×2 windows with stride 2, without per-window bounds.
    @inline(__always)
    static func maxPool2x2<T: BinaryFloatingPoint>(
        _ input: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>, _ window: Window2D,
        _ best: UnsafeMutableBufferPointer<Int>
    ) {
        let (width, planeSize) = (window.width, window.height * window.width)
        var position = 0
        for plane in 0..<(window.batch * window.channels) {
            for oy in 0..<window.outputHeight {
                var top = plane * planeSize + 2 * oy * width
                for _ in 0..<window.outputWidth {
                    // First maximum on ties, scanning row by row as the general loop does.
                    var (value, source) = (input[top], top)
                    if input[top + 1] > value { (value, source) = (input[top + 1], top + 1) }
                    if input[top + width] > value { (value, source) = (input[top + width], top + width) }
                    if input[top + width + 1] > value { (value, source) = (input[top + width + 1], top + width + 1) }
                    output[position] = value
                    best[position] = source
                    position += 1
                    top += 2
                }
            }
        }
    }

    /// The mean of each window (padding counted as zeros).
    @inline(__always)
    static func avgPool<T: BinaryFloatingPoint>(
        _ input: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>, _ window: Window2D
    ) {
        let scale = 1 / T(window.kernelHeight * window.kernelWidth)
        forEachWindow(window) { position, plane, top, left in
            var sum: T = 0
            for y in max(top, 0)..<min(top + window.kernelHeight, window.height) {
                for x in max(left, 0)..<min(left + window.kernelWidth, window.width) { sum += input[plane + y * window.width + x] }
            }
            output[position] = sum * scale
        }
    }

    /// Calls `body(outputIndex, planeStart, top, left)` for every window of a pooling (one
    /// channel per window): no division per element.
    @inline(__always)
    static func forEachWindow(_ window: Window2D, _ body: (Int, Int, Int, Int) -> Void) {
        let planeSize = window.height * window.width
        var position = 0
        for plane in 0..<(window.batch * window.channels) {
            for oy in 0..<window.outputHeight {
                for ox in 0..<window.outputWidth {
                    body(position, plane * planeSize, oy * window.stride - window.padding, ox * window.stride - window.padding)
                    position += 1
                }
            }
        }
    }

    /// Each window's gradient spread evenly over it.
    @inline(__always)
    static func avgPoolBackward<T: BinaryFloatingPoint>(
        _ upstream: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>, _ window: Window2D
    ) {
        let area = window.kernelHeight * window.kernelWidth
        let scale = 1 / T(area)
        output.initialize(repeating: 0)
        window.forEachPair { pair, inp in output[inp] += upstream[pair / area] * scale }
    }

    /// Each window's gradient to the position of its maximum.
    @inline(__always)
    static func maxPoolBackward<T: BinaryFloatingPoint>(
        _ upstream: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>, _ winners: UnsafeBufferPointer<Int>
    ) {
        output.initialize(repeating: 0)
        for (position, source) in winners.enumerated() where source >= 0 { output[source] += upstream[position] }
    }
}
