import IOTensor

// Reductions and the numerically stable softmax family.

extension Variable {
    /// The sum of every element, as a single-element result of shape [].
    public func sum() -> Variable {
        let shape = self.shape
        return Self.result(value.sum(), "sum", [self]) { g in [try g.broadcast(to: shape).contiguous()] }
    }

    /// Sums along `axes` (negative axes count from the end).
    public func sum(alongAxes axes: [Int], keepingDimensions: Bool = false) throws -> Variable {
        let shape = self.shape
        let kept = try keptShape(axes)
        return Self.result(try value.sum(alongAxes: axes, keepingDimensions: keepingDimensions), "sum", [self]) { g in
            [try g.reshaped(kept).broadcast(to: shape).contiguous()]
        }
    }

    /// The mean of every element.
    public func mean() -> Variable {
        sum() / Scalar(Swift.max(value.count, 1))
    }

    /// Means along `axes`.
    public func mean(alongAxes axes: [Int], keepingDimensions: Bool = false) throws -> Variable {
        let count = try normalized(axes).reduce(1) { $0 * shape[$1] }
        return try sum(alongAxes: axes, keepingDimensions: keepingDimensions) / Scalar(Swift.max(count, 1))
    }

    /// log(Σ exp(x)) along `axis`, computed stably.
    public func logSumExp(alongAxis axis: Int, keepingDimensions: Bool = false) throws -> Variable {
        let x = value
        let kept = try keptShape([axis])
        let output = try x.logSumExp(alongAxis: axis, keepingDimensions: true)
        let result = Self.result(keepingDimensions ? output : try output.reshaped(try reducedShape([axis])), "logSumExp", [self]) { g in
            let probabilities = try (x - output).exp()
            return [try probabilities * g.reshaped(kept)]
        }
        return result
    }

    /// The logarithm of the softmax along `axis`: x − logSumExp(x), stable for large inputs.
    public func logSoftmax(alongAxis axis: Int = -1) throws -> Variable {
        let output = try value.logSoftmax(alongAxis: axis)
        return Self.result(output, "logSoftmax", [self]) { g in
            [try g - output.exp() * g.sum(alongAxis: axis, keepingDimensions: true)]
        }
    }

    /// exp(x) / Σ exp(x) along `axis`, stable for large inputs.
    public func softmax(alongAxis axis: Int = -1) throws -> Variable {
        let output = try value.softmax(alongAxis: axis)
        return Self.result(output, "softmax", [self]) { g in
            [try output * (g - (g * output).sum(alongAxis: axis, keepingDimensions: true))]
        }
    }

    /// `axes` as non-negative, distinct axes of this variable.
    func normalized(_ axes: [Int]) throws -> [Int] {
        var resolved: [Int] = []
        for axis in axes {
            let normal = axis < 0 ? axis + rank : axis
            guard normal >= 0 && normal < rank, !resolved.contains(normal) else {
                throw TensorError.invalidArgument(
                    operation: "reduce", reason: "axes \(axes) are not distinct axes of a rank-\(rank) tensor")
            }
            resolved.append(normal)
        }
        return resolved
    }

    /// The shape with `axes` set to 1 (a reduction keeping its dimensions).
    func keptShape(_ axes: [Int]) throws -> [Int] {
        var kept = shape
        for axis in try normalized(axes) { kept[axis] = 1 }
        return kept
    }

    /// The shape with `axes` removed.
    func reducedShape(_ axes: [Int]) throws -> [Int] {
        let removed = Set(try normalized(axes))
        return shape.indices.filter { !removed.contains($0) }.map { shape[$0] }
    }
}
