/// How a ring collective cuts its elements: `size` segments (one per rank), each cut into the
/// same number of chunks, the unit that one message carries.
struct RingPlan {
    /// Segment `i` is `bounds[i]..<bounds[i + 1]`.
    let bounds: [Int]
    let chunksPerSegment: Int
    /// The bytes of one element.
    let elementSize: Int

    /// Segments of near-equal length over `count` elements.
    init(count: Int, size: Int, elementSize: Int, chunkBytes: Int) {
        self.init(bounds: (0...size).map { $0 * count / size }, elementSize: elementSize, chunkBytes: chunkBytes)
    }

    init(bounds: [Int], elementSize: Int, chunkBytes: Int) {
        self.bounds = bounds
        self.elementSize = elementSize
        let longest = zip(bounds.dropFirst(), bounds).map { $0 - $1 }.max() ?? 0
        chunksPerSegment = max(1, (longest * elementSize + chunkBytes - 1) / chunkBytes)
    }

    var segments: Int { bounds.count - 1 }

    func segment(_ index: Int) -> Range<Int> { bounds[index]..<bounds[index + 1] }

    func chunk(_ chunk: Int, of segment: Int) -> Range<Int> {
        let start = bounds[segment]
        let length = bounds[segment + 1] - start
        return (start + chunk * length / chunksPerSegment)..<(start + (chunk + 1) * length / chunksPerSegment)
    }
}
