extension Tensor: CustomStringConvertible {
    /// The elements nested by dimension, NumPy-style, with long dimensions elided in the middle.
    public var description: String {
        let source = contiguous()
        let elements = UnsafeBufferPointer(start: source.basePointer, count: count)
        func render(_ axis: Int, _ start: Int) -> String {
            if axis == rank { return "\(elements[start])" }
            let size = shape[axis]
            let step = Tensor.contiguousStrides(shape)[axis]
            var parts: [String] = []
            let shown: [Int] = size > 8 ? Array(0..<3) + [-1] + Array((size - 3)..<size) : Array(0..<size)
            for index in shown {
                parts.append(index < 0 ? "…" : render(axis + 1, start + index * step))
            }
            return "[" + parts.joined(separator: axis == rank - 1 ? ", " : ",\n") + "]"
        }
        return rank == 0 ? "\(elements[0])" : render(0, 0)
    }
}
