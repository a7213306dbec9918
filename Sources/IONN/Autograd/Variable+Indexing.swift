import IOTensor

// Indexing, joining and elementwise selection: the forward uses the tensor layer, the backward
// sends each output gradient back to the element it came from.

extension Variable {
    /// The entries at `indices` along `axis`, in that order (repeats allowed).
    public func selecting(_ indices: [Int], alongAxis axis: Int = 0) throws -> Variable {
        let resolved = try normalized([axis])[0]
        let inputShape = shape
        return Self.result(try value.selecting(indices, alongAxis: resolved), "selecting", [self]) { g in
            [try ScatterKernels.add(g, into: inputShape, at: indices, alongAxis: resolved)]
        }
    }

    /// The entries of `range` along `axis`, every `step`-th one.
    public func slice(alongAxis axis: Int, _ range: Range<Int>, step: Int = 1) throws -> Variable {
        let resolved = try normalized([axis])[0]
        let inputShape = shape
        let output = try value.slice(alongAxis: resolved, range, step: step)
        let indices = Array(Swift.stride(from: range.lowerBound, to: range.upperBound, by: Swift.max(step, 1)))
        return Self.result(output, "slice", [self]) { g in
            [try ScatterKernels.add(g, into: inputShape, at: indices, alongAxis: resolved)]
        }
    }

    /// Entry `index` along `axis`, that axis removed.
    public func select(_ index: Int, alongAxis axis: Int = 0) throws -> Variable {
        let resolved = try normalized([axis])[0]
        return try slice(alongAxis: resolved, index..<(index + 1)).squeezed(axis: resolved)
    }

    /// Pieces of `sizes` along `axis`.
    public func split(sizes: [Int], alongAxis axis: Int = 0) throws -> [Variable] {
        let resolved = try normalized([axis])[0]
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[resolved] else {
            throw TensorError.invalidArgument(operation: "split", reason: "sizes \(sizes) do not add up to \(shape[resolved])")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try slice(alongAxis: resolved, start..<(start + size))
        }
    }

    /// `variables` joined along `axis` (their other dimensions equal).
    public static func concatenate(_ variables: [Variable], alongAxis axis: Int = 0) throws -> Variable {
        let output = try Tensor.concatenate(variables.map(\.value), alongAxis: axis)
        let resolved = axis < 0 ? axis + output.rank : axis
        let sizes = variables.map { $0.shape[resolved] }
        return result(output, "concatenate", variables) { g in
            var start = 0
            return try sizes.map { size in
                defer { start += size }
                return try g.slice(alongAxis: resolved, start..<(start + size)).contiguous()
            }
        }
    }

    /// This variable stretched to `targetShape` (NumPy broadcasting); the gradient is summed back.
    public func broadcast(to targetShape: [Int]) throws -> Variable {
        let inputShape = shape
        return Self.result(try value.broadcast(to: targetShape).contiguous(), "broadcast", [self]) { g in
            [try g.reduced(toShape: inputShape)]
        }
    }

    /// The maximum along `axis`; the gradient goes to the first maximal entry.
    public func max(alongAxis axis: Int, keepingDimensions: Bool = false) throws -> Variable {
        try extreme(alongAxis: axis, keepingDimensions: keepingDimensions, positions: value.argmax(alongAxis: axis))
    }

    /// The minimum along `axis`; the gradient goes to the first minimal entry.
    public func min(alongAxis axis: Int, keepingDimensions: Bool = false) throws -> Variable {
        try extreme(alongAxis: axis, keepingDimensions: keepingDimensions, positions: value.argmin(alongAxis: axis))
    }

    private func extreme(alongAxis axis: Int, keepingDimensions: Bool, positions: Tensor<Int>) throws -> Variable {
        let resolved = try normalized([axis])[0]
        let picked = try gathering(positions.unsqueezed(at: resolved), alongAxis: resolved)
        return keepingDimensions ? picked : try picked.squeezed(axis: resolved)
    }

    /// The variance along `axes` with `correction` (0: biased, 1: Bessel's), as a composite of
    /// differentiable operations.
    public func variance(alongAxes axes: [Int], correction: Int = 0, keepingDimensions: Bool = false) throws -> Variable {
        let count = try normalized(axes).reduce(1) { $0 * shape[$1] }
        let centered = try self - mean(alongAxes: axes, keepingDimensions: true)
        return try centered.squared().sum(alongAxes: axes, keepingDimensions: keepingDimensions) / Scalar(Swift.max(count - correction, 1))
    }

    /// |x|; the gradient at 0 is 0, as in PyTorch.
    public func abs() throws -> Variable {
        let x = value
        return Self.result(x.abs(), "abs", [self]) { g in
            [
                try concreteTensor(
                    combining: g, x, float: { ElementKernels.signTimes($0, $1, $2) }, double: { ElementKernels.signTimes($0, $1, $2) })
            ]
        }
    }

    /// Each element limited to `lower...upper`; the gradient passes where the input was inside.
    public func clamped(lower: Scalar, upper: Scalar) throws -> Variable {
        let x = value
        return Self.result(try x.clamped(lower: lower, upper: upper), "clamp", [self]) { g in
            [
                try concreteTensor(
                    combining: g, x, float: { ElementKernels.inside($0, $1, $2, Float(lower), Float(upper)) },
                    double: { ElementKernels.inside($0, $1, $2, Double(lower), Double(upper)) })
            ]
        }
    }

    /// The larger of each pair of elements (broadcasting); at ties each side gets half, as in
    /// PyTorch.
    public func maximum(_ other: Variable) throws -> Variable { try extremum(other, larger: true) }

    /// The smaller of each pair of elements (broadcasting); at ties each side gets half.
    public func minimum(_ other: Variable) throws -> Variable { try extremum(other, larger: false) }

    private func extremum(_ other: Variable, larger: Bool) throws -> Variable {
        let output = larger ? try value.maximum(other.value) : try value.minimum(other.value)
        let x = try value.broadcast(to: output.shape).contiguous()
        let y = try other.value.broadcast(to: output.shape).contiguous()
        let (xShape, yShape) = (shape, other.shape)
        return Self.result(output, larger ? "maximum" : "minimum", [self, other]) { g in
            let share = try concreteTensor(
                combining: x, y, float: { ElementKernels.winnerShare($0, $1, $2, larger: larger) },
                double: { ElementKernels.winnerShare($0, $1, $2, larger: larger) })
            let toFirst = try g * share
            return [try toFirst.reduced(toShape: xShape), try (g - toFirst).reduced(toShape: yShape)]
        }
    }
}

extension ElementKernels {
    /// gradient · sign(input), 0 at 0.
    @inline(__always)
    static func signTimes<T: BinaryFloatingPoint>(
        _ gradient: UnsafeBufferPointer<T>, _ input: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>
    ) {
        for index in output.indices {
            let (passed, x) = (gradient[index], input[index])
            output[index] = x > 0 ? passed : (x < 0 ? -passed : 0)
        }
    }

    /// The gradient where lower ≤ input ≤ upper, else 0.
    @inline(__always)
    static func inside<T: BinaryFloatingPoint>(
        _ gradient: UnsafeBufferPointer<T>, _ input: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>, _ lower: T, _ upper: T
    ) {
        for index in output.indices {
            let (passed, x) = (gradient[index], input[index])
            output[index] = x >= lower && x <= upper ? passed : 0
        }
    }

    /// 1 where the first operand wins, ½ at ties, 0 where it loses.
    @inline(__always)
    static func winnerShare<T: BinaryFloatingPoint>(
        _ x: UnsafeBufferPointer<T>, _ y: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>, larger: Bool
    ) {
        for index in output.indices {
            output[index] = x[index] == y[index] ? 0.5 : ((x[index] > y[index]) == larger ? 1 : 0)
        }
    }
}

enum ScatterKernels {
    /// A tensor of `shape`, zero except that slice j of `gradient` along `axis` is added at
    /// position `indices[j]` (the backward of selecting, slicing and indexing).
    static func add<Scalar: LinearAlgebraScalar>(
        _ gradient: Tensor<Scalar>, into shape: [Int], at indices: [Int], alongAxis axis: Int
    ) throws -> Tensor<Scalar> {
        if gradient.device != .cpu { return try addOnDevice(gradient, into: shape, at: indices, alongAxis: axis) }
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let (source, target) = (indices.count, shape[axis])
        return try concreteTensor(
            shape, from: gradient,
            float: { scatter($0, $1, indices, outer: outer, inner: inner, source: source, target: target) },
            double: { scatter($0, $1, indices, outer: outer, inner: inner, source: source, target: target) })
    }

    /// The same on the gradient's device: a run of consecutive positions (a slice, a split
    /// piece) as a concatenation with zeros on either side, anything else as a scatter-add of
    /// each slice's elements.
    private static func addOnDevice<Scalar: LinearAlgebraScalar>(
        _ gradient: Tensor<Scalar>, into shape: [Int], at indices: [Int], alongAxis axis: Int
    ) throws -> Tensor<Scalar> {
        let device = gradient.device
        if let first = indices.first, indices.enumerated().allSatisfy({ $0.element == first + $0.offset }) {
            func zeros(_ length: Int) throws -> [Tensor<Scalar>] {
                guard length > 0 else { return [] }
                var zerosShape = shape
                zerosShape[axis] = length
                return [try Tensor<Scalar>.zeros(zerosShape).to(device)]
            }
            let pieces = try zeros(first) + [gradient] + zeros(shape[axis] - first - indices.count)
            return try Tensor.concatenate(pieces, alongAxis: axis)
        }
        // Each element of the gradient goes to its slice's position along the axis.
        let inner = shape[(axis + 1)...].reduce(1, *)
        let length = indices.count
        let positions = (0..<gradient.count).map { flat in indices[(flat / inner) % length] }
        return try Tensor.scatterAdding(
            gradient, at: try Tensor<Int>(shape: gradient.shape, scalars: positions), alongAxis: axis, into: shape)
    }

    @inline(__always)
    private static func scatter<T: BinaryFloatingPoint>(
        _ input: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>, _ indices: [Int], outer: Int, inner: Int, source: Int,
        target: Int
    ) {
        output.initialize(repeating: 0)
        for o in 0..<outer {
            for (j, index) in indices.enumerated() {
                let from = (o * source + j) * inner
                let to = (o * target + index) * inner
                for k in 0..<inner { output[to + k] += input[from + k] }
            }
        }
    }
}
