import IOTensor

// Shape operations: views forward, the inverse view backward.

extension Variable {
    /// The same elements in `newShape` (one dimension may be -1).
    public func reshaped(_ newShape: [Int]) throws -> Variable {
        let shape = self.shape
        return Self.result(try value.reshaped(newShape), "reshape", [self]) { g in [try g.reshaped(shape)] }
    }

    /// All axes from `startAxis` on flattened into one (a batch of images to a batch of vectors).
    public func flattened(startAxis: Int = 1) throws -> Variable {
        let start = startAxis < 0 ? startAxis + rank : startAxis
        guard start >= 0 && start < Swift.max(rank, 1) else {
            throw TensorError.invalidArgument(operation: "flatten", reason: "axis \(startAxis) of a rank-\(rank) tensor")
        }
        return try reshaped(Array(shape[..<start]) + [shape[start...].reduce(1, *)])
    }

    /// The last two axes swapped.
    public func transposed() -> Variable {
        Self.result(value.transposed(), "transpose", [self]) { g in [g.transposed()] }
    }

    /// The axes reordered: axis `i` of the result is axis `axes[i]` of this variable.
    public func permuted(_ axes: [Int]) throws -> Variable {
        let output = try value.permuted(axes)
        let resolved = axes.map { $0 < 0 ? $0 + rank : $0 }
        var inverse = [Int](repeating: 0, count: resolved.count)
        for (position, axis) in resolved.enumerated() { inverse[axis] = position }
        return Self.result(output, "permute", [self]) { g in [try g.permuted(inverse)] }
    }

    /// A new axis of size 1 at `axis`.
    public func unsqueezed(at axis: Int) throws -> Variable {
        let shape = self.shape
        return Self.result(try value.unsqueezed(at: axis), "unsqueeze", [self]) { g in [try g.reshaped(shape)] }
    }

    /// The axis `axis` (of size 1) removed.
    public func squeezed(axis: Int) throws -> Variable {
        let shape = self.shape
        return Self.result(try value.squeezed(axis: axis), "squeeze", [self]) { g in [try g.reshaped(shape)] }
    }
}
