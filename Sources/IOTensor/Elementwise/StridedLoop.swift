/// Offsets, in elements, of up to three operands at the start of a segment.
struct OperandOffsets {
    var a = 0
    var b = 0
    var c = 0
}

/// Walks a row-major output of some shape together with up to three strided inputs, as a
/// sequence of segments: runs along the innermost dimension where every operand has a constant
/// stride.
///
/// Dimensions of size one are dropped and neighbouring dimensions that every operand lays out
/// contiguously are merged first, so that two contiguous operands of the same shape form a single
/// segment, and a broadcast row vector forms one segment per row. Work is split across cores by
/// output element ranges (see ``Parallel``), so a single long segment is split as well.
struct StridedLoop {
    /// The collapsed output shape; never empty.
    let shape: [Int]
    /// Per operand, the collapsed strides (0 along broadcast dimensions).
    let strides: [[Int]]
    /// The number of output elements.
    let count: Int

    /// - Parameters:
    ///   - shape: the output shape.
    ///   - operandStrides: for each input (at most three), its strides against `shape`.
    init(shape: [Int], operandStrides: [[Int]]) {
        precondition(operandStrides.count <= 3)
        count = shape.reduce(1, *)
        var sizes: [Int] = []
        var collapsed: [[Int]] = Array(repeating: [], count: operandStrides.count)
        for axis in shape.indices where shape[axis] != 1 {
            if let last = sizes.indices.last,
                operandStrides.indices.allSatisfy({ collapsed[$0][last] == operandStrides[$0][axis] * shape[axis] })
            {
                sizes[last] *= shape[axis]
                for operand in operandStrides.indices { collapsed[operand][last] = operandStrides[operand][axis] }
            } else {
                sizes.append(shape[axis])
                for operand in operandStrides.indices { collapsed[operand].append(operandStrides[operand][axis]) }
            }
        }
        if sizes.isEmpty {
            sizes = [1]
            collapsed = collapsed.map { _ in [0] }
        }
        self.shape = sizes
        self.strides = collapsed
    }

    /// The stride of `operand` along the innermost dimension: the stride within a segment.
    func innerStride(_ operand: Int) -> Int { strides[operand][shape.count - 1] }

    /// Calls `body(outputStart, offsets, length)` for each segment of the output elements in `range`.
    func forEachSegment(in range: Range<Int>, _ body: (Int, OperandOffsets, Int) -> Void) {
        let rank = shape.count
        let inner = shape[rank - 1]
        let operandCount = strides.count
        var index = range.lowerBound
        while index < range.upperBound {
            var row = index / inner
            let column = index - row * inner
            var offsets = OperandOffsets()
            var axis = rank - 2
            while axis >= 0 {
                let position = row % shape[axis]
                row /= shape[axis]
                if operandCount > 0 { offsets.a += position * strides[0][axis] }
                if operandCount > 1 { offsets.b += position * strides[1][axis] }
                if operandCount > 2 { offsets.c += position * strides[2][axis] }
                axis -= 1
            }
            if operandCount > 0 { offsets.a += column * strides[0][rank - 1] }
            if operandCount > 1 { offsets.b += column * strides[1][rank - 1] }
            if operandCount > 2 { offsets.c += column * strides[2][rank - 1] }
            let length = min(inner - column, range.upperBound - index)
            body(index, offsets, length)
            index += length
        }
    }

    /// Runs every segment, split across cores when the loop is large.
    func run(costPerElement: Int = 1, _ body: (Int, OperandOffsets, Int) -> Void) {
        Parallel.forEachChunk(count, costPerElement: costPerElement) { range in
            forEachSegment(in: range, body)
        }
    }
}

extension Tensor {
    /// Visits this tensor's elements in row-major order as segments `(outputStart, offset, stride,
    /// length)`, split across cores when large: one segment per core for a contiguous tensor (with
    /// no strided-loop set-up), one per innermost run otherwise.
    func forEachSegment(cost: Int, _ body: (Int, Int, Int, Int) -> Void) {
        if isContiguous {
            Parallel.forEachChunk(count, costPerElement: cost) { range in
                body(range.lowerBound, range.lowerBound, 1, range.count)
            }
            return
        }
        let loop = StridedLoop(shape: shape, operandStrides: [strides])
        let step = loop.innerStride(0)
        loop.run(costPerElement: cost) { start, offsets, length in body(start, offsets.a, step, length) }
    }

    /// This tensor's strides when it is broadcast to `target` (which must be broadcast-compatible):
    /// aligned on the right, with stride 0 along dimensions it repeats.
    func broadcastStrides(to target: [Int]) -> [Int] {
        var result = [Int](repeating: 0, count: target.count)
        let shift = target.count - rank
        for axis in 0..<rank where shape[axis] != 1 {
            result[axis + shift] = strides[axis]
        }
        return result
    }
}

/// Computes NumPy broadcasting of two shapes: aligned on the right, each pair of dimensions must be
/// equal or one of them 1.
func broadcastShapes(_ lhs: [Int], _ rhs: [Int], operation: String) throws(TensorError) -> [Int] {
    let rank = max(lhs.count, rhs.count)
    var result = [Int](repeating: 1, count: rank)
    for position in 0..<rank {
        let left = position < rank - lhs.count ? 1 : lhs[position - (rank - lhs.count)]
        let right = position < rank - rhs.count ? 1 : rhs[position - (rank - rhs.count)]
        if left == right || right == 1 {
            result[position] = left
        } else if left == 1 {
            result[position] = right
        } else {
            throw .shapeMismatch(
                operation: operation, lhs: lhs, rhs: rhs,
                reason: "dimensions \(left) and \(right) cannot be broadcast together")
        }
    }
    return result
}

/// Element-size-generic copies, so that one specialized loop moves every dtype of that width.
enum StridedCopy {
    /// Copies `source` (any layout) into `destination`, a contiguous tensor of the same shape.
    static func copy<Scalar>(from source: Tensor<Scalar>, into destination: inout Tensor<Scalar>) {
        let loop = StridedLoop(shape: source.shape, operandStrides: [source.strides])
        let from = UnsafeRawPointer(source.basePointer)
        let to = UnsafeMutableRawPointer(destination.basePointer)
        switch MemoryLayout<Scalar>.stride {
        case 1: copy(loop, from, to, as: UInt8.self)
        case 2: copy(loop, from, to, as: UInt16.self)
        case 4: copy(loop, from, to, as: UInt32.self)
        default: copy(loop, from, to, as: UInt64.self)
        }
    }

    private static func copy<Word: FixedWidthInteger>(
        _ loop: StridedLoop, _ from: UnsafeRawPointer, _ to: UnsafeMutableRawPointer, as: Word.Type
    ) {
        let source = SharedPointer(from.assumingMemoryBound(to: Word.self))
        let destination = SharedPointer(to.assumingMemoryBound(to: Word.self))
        if transposeCopy(loop, source, destination) { return }
        let step = loop.innerStride(0)
        loop.run { start, offsets, length in
            let input = source.base + offsets.a
            let output = destination.base + start
            if step == 1 {
                output.update(from: input, count: length)
            } else {
                for i in 0..<length { output[i] = input[i * step] }
            }
        }
    }

    /// The edge of the square tiles that a transposing copy moves at a time: 16 rows of 16
    /// elements touch 16 cache lines on each side, which stay in L1 while the tile is copied.
    static let transposeTile = 16

    /// Copies a source whose two innermost (collapsed) dimensions are transposed — stride 1 along
    /// the second-to-last, a larger one along the last, as `transposed()` or a channels-last to
    /// channels-first permutation leave it — tile by tile, so that both sides are read and written
    /// a cache line at a time. Walking such a source row by row instead reads one element per
    /// cache line and was the largest cost of a small convolution's training step. Returns false,
    /// copying nothing, for other layouts.
    private static func transposeCopy<Word>(_ loop: StridedLoop, _ source: SharedPointer<Word>, _ destination: SharedPointer<Word>)
        -> Bool
    {
        let rank = loop.shape.count
        let strides = loop.strides[0]
        guard rank >= 2, strides[rank - 2] == 1, strides[rank - 1] != 1, strides[rank - 1] != 0 else { return false }
        let (rows, columns) = (loop.shape[rank - 2], loop.shape[rank - 1])
        let columnStride = strides[rank - 1]
        let outerShape = Array(loop.shape[..<(rank - 2)])
        let outerStrides = Array(strides[..<(rank - 2)])
        let tile = transposeTile
        let rowTiles = (rows + tile - 1) / tile
        let matrices = outerShape.reduce(1, *)
        // One unit of work is a band of `tile` output rows of one matrix.
        Parallel.forEachChunk(matrices * rowTiles, costPerElement: tile * columns) { units in
            for unit in units {
                let matrix = unit / rowTiles
                var remainder = matrix
                var inputBase = 0
                for axis in outerShape.indices.reversed() {
                    inputBase += (remainder % outerShape[axis]) * outerStrides[axis]
                    remainder /= outerShape[axis]
                }
                let rowStart = (unit % rowTiles) * tile
                let rowEnd = min(rowStart + tile, rows)
                let outputBase = matrix * rows * columns
                var columnStart = 0
                while columnStart < columns {
                    let columnEnd = min(columnStart + tile, columns)
                    for column in columnStart..<columnEnd {
                        let input = source.base + inputBase + column * columnStride
                        let output = destination.base + outputBase + column
                        for row in rowStart..<rowEnd { output[row * columns] = input[row] }
                    }
                    columnStart = columnEnd
                }
            }
        }
        return true
    }
}
