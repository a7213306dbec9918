import IOTensor

/// Samples with class labels: a feature tensor whose first axis is the sample, and one label per
/// sample. What classifiers train on, split and batch.
///
/// ```swift
/// let table = try CSV.read(contentsOf: "digits.csv.gz", as: Float.self)
/// let digits = try LabeledData(table: table, labelColumn: 64, featureScale: 1.0 / 16)
/// let (train, test) = try digits.shuffledSplit(trainFraction: 0.8, seed: 2026)
/// for batch in try train.batches(size: 64, shuffleSeed: epoch) { … }
/// ```
public struct LabeledData<Scalar: LinearAlgebraScalar>: Sendable {
    /// [samples, …] features.
    public let features: Tensor<Scalar>
    /// One class index per sample.
    public let labels: [Int]

    /// - Throws: `TensorError.invalidArgument` when the counts differ.
    public init(features: Tensor<Scalar>, labels: [Int]) throws {
        guard features.rank >= 1, features.shape[0] == labels.count else {
            throw TensorError.invalidArgument(
                operation: "LabeledData", reason: "\(labels.count) labels for features of shape \(features.shape)")
        }
        self.features = features.contiguous()
        self.labels = labels
    }

    /// Samples from the rows of a [rows, columns] table whose column `labelColumn` holds whole
    /// class numbers and the others the features, multiplied by `featureScale`.
    ///
    /// - Throws: `TensorError.invalidArgument` for a label that is not a whole, non-negative number.
    public init(table: Tensor<Scalar>, labelColumn: Int, featureScale: Scalar = 1) throws {
        guard table.rank == 2, labelColumn >= 0, labelColumn < table.shape[1] else {
            throw TensorError.invalidArgument(
                operation: "LabeledData", reason: "no column \(labelColumn) in a table of shape \(table.shape)")
        }
        let columns = (0..<table.shape[1]).filter { $0 != labelColumn }
        let raw = try table.select(labelColumn, alongAxis: 1).scalars
        let labels = raw.compactMap { Int(exactly: $0) }.filter { $0 >= 0 }
        guard labels.count == raw.count else {
            throw TensorError.invalidArgument(
                operation: "LabeledData", reason: "column \(labelColumn) holds a label that is not a class number")
        }
        try self.init(features: try table.selecting(columns, alongAxis: 1) * featureScale, labels: labels)
    }

    /// The number of samples.
    public var count: Int { labels.count }

    /// The number of classes (one more than the largest label).
    public var classCount: Int { (labels.max() ?? -1) + 1 }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: [Int]) throws -> LabeledData {
        try LabeledData(features: try features.selecting(indices, alongAxis: 0), labels: indices.map { labels[$0] })
    }

    /// A fixed random split: the same `seed` gives the same two parts on every machine.
    public func shuffledSplit(trainFraction: Double, seed: UInt64) throws -> (train: LabeledData, test: LabeledData) {
        let order = Self.permutation(count, seed: seed)
        let cut = Int((Double(count) * trainFraction).rounded())
        return (try subset(Array(order[..<cut])), try subset(Array(order[cut...])))
    }

    /// Consecutive batches of `size` samples (the last may be smaller), in an order shuffled by
    /// `shuffleSeed` (or as stored when nil).
    public func batches(size: Int, shuffleSeed: UInt64? = nil) throws -> [LabeledData] {
        guard size > 0 else { throw TensorError.invalidArgument(operation: "batches", reason: "batch size \(size)") }
        let order = shuffleSeed.map { Self.permutation(count, seed: $0) } ?? Array(0..<count)
        return try stride(from: 0, to: count, by: size).map { start in try subset(Array(order[start..<min(start + size, count)])) }
    }

    /// A Fisher–Yates permutation of 0..<count driven by SplitMix64 from `seed`.
    static func permutation(_ count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<count)
        var state = seed
        for index in stride(from: count - 1, to: 0, by: -1) {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            order.swapAt(index, Int((z ^ (z >> 31)) % UInt64(index + 1)))
        }
        return order
    }
}
