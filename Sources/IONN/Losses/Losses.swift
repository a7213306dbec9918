import IOTensor

#if canImport(Glibc)
    import Glibc
#endif

/// Loss functions: each returns the mean over the batch as a single-element variable, ready
/// for `backward()`.
public enum Loss {
    /// The mean of (prediction − target)².
    public static func meanSquaredError<Scalar>(_ prediction: Variable<Scalar>, _ target: Tensor<Scalar>) throws -> Variable<Scalar> {
        guard prediction.shape == target.shape else {
            throw AutogradError.shapeMismatch(operation: "meanSquaredError", expected: prediction.shape, actual: target.shape)
        }
        return try (prediction - Variable(target)).squared().mean()
    }

    /// The Huber loss: ½d² where |d| ≤ `delta`, δ(|d| − ½δ) beyond (d = prediction − target),
    /// averaged; quadratic near the target, linear for outliers.
    public static func huber<Scalar>(_ prediction: Variable<Scalar>, _ target: Tensor<Scalar>, delta: Scalar = 1) throws -> Variable<Scalar>
    {
        guard prediction.shape == target.shape else {
            throw AutogradError.shapeMismatch(operation: "huber", expected: prediction.shape, actual: target.shape)
        }
        let difference = try prediction.value - target
        if difference.device != .cpu { return try huberOnDevice(prediction, difference, delta: delta) }
        let losses = try difference.map { d in Swift.abs(d) <= delta ? d * d / 2 : delta * (Swift.abs(d) - delta / 2) }
        let count = Scalar(Swift.max(losses.count, 1))
        return Variable.result(losses.sum() / count, "huber", [prediction]) { g in
            let scale = g.scalars[0] / count
            return [try difference.map { d in (Swift.abs(d) <= delta ? d : (d > 0 ? delta : -delta)) * scale }]
        }
    }

    /// Cross-entropy of `logits` (shape [batch, classes]) against class indices `labels`,
    /// through a stable log-softmax: the mean of −log softmax(logits)[i, labels[i]]. Its
    /// gradient is (softmax − one-hot) / batch.
    ///
    /// - Throws: ``AutogradError/shapeMismatch(operation:expected:actual:)`` when `logits` is not
    ///   [labels.count, classes]; ``LossError/labelOutOfRange(label:classes:)`` for a label
    ///   outside 0..<classes.
    public static func crossEntropy<Scalar>(logits: Variable<Scalar>, labels: [Int]) throws -> Variable<Scalar> {
        guard logits.rank == 2, logits.shape[0] == labels.count else {
            throw AutogradError.shapeMismatch(
                operation: "crossEntropy", expected: [labels.count, logits.shape.last ?? 0], actual: logits.shape)
        }
        let (batch, classes) = (logits.shape[0], logits.shape[1])
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) { throw LossError.labelOutOfRange(label: bad, classes: classes) }
        let logProbabilities = try logits.value.logSoftmax(alongAxis: 1).contiguous()
        if logProbabilities.device != .cpu {
            return try crossEntropyOnDevice(logits: logits, logProbabilities: logProbabilities, labels: labels)
        }
        let total = logProbabilities.withUnsafeBufferPointer { rows in
            labels.enumerated().reduce(0.0) { $0 - Double(rows[$1.offset * classes + $1.element]) }
        }
        let count = Scalar(Swift.max(batch, 1))
        return Variable.result(Tensor(scalar: Scalar(total) / count), "crossEntropy", [logits]) { g in
            let scale = g.scalars[0] / count
            var gradient = logProbabilities.exp() * scale
            gradient.withUnsafeMutableBufferPointer { out in
                for (row, label) in labels.enumerated() { out[row * classes + label] -= scale }
            }
            return [gradient]
        }
    }

    /// Cross-entropy for logits on a device: the labels as a one-hot matrix moved there once, so
    /// that the loss (a masked sum) and its gradient (softmax minus one-hot) are device kernels
    /// and only the loss itself comes back when it is read.
    private static func crossEntropyOnDevice<Scalar>(logits: Variable<Scalar>, logProbabilities: Tensor<Scalar>, labels: [Int]) throws
        -> Variable<Scalar>
    {
        let (batch, classes) = (logits.shape[0], logits.shape[1])
        let oneHot = try Tensor<Scalar>(shape: [batch, classes]) { elements in
            elements.initialize(repeating: 0)
            for (row, label) in labels.enumerated() { elements[row * classes + label] = 1 }
        }.to(logProbabilities.device)
        let count = Scalar(Swift.max(batch, 1))
        let loss = try (logProbabilities * oneHot).sum() * (-1 / count)
        return Variable.result(loss, "crossEntropy", [logits]) { g in
            [try (logProbabilities.exp() - oneHot) * (g * (1 / count))]
        }
    }

    /// Binary cross-entropy of `logits` against targets in [0, 1] (same shape), computed as
    /// max(x, 0) − x·y + log(1 + e^−|x|), which never overflows; averaged.
    public static func binaryCrossEntropy<Scalar>(logits: Variable<Scalar>, targets: Tensor<Scalar>) throws -> Variable<Scalar> {
        guard logits.shape == targets.shape else {
            throw AutogradError.shapeMismatch(operation: "binaryCrossEntropy", expected: logits.shape, actual: targets.shape)
        }
        let x = logits.value
        if x.device != .cpu { return try binaryCrossEntropyOnDevice(logits, targets) }
        let losses = try x.zipMap(targets) { x, y in
            Swift.max(x, 0) - x * y + Scalar(Glibc.log1p(Glibc.exp(-Double(Swift.abs(x)))))
        }
        let count = Scalar(Swift.max(losses.count, 1))
        return Variable.result(losses.sum() / count, "binaryCrossEntropy", [logits]) { g in
            let scale = g.scalars[0] / count
            return [try x.sigmoid().zipMap(targets) { p, y in (p - y) * scale }]
        }
    }
}

extension Loss {
    /// Huber on a device, in elementwise kernels: with a = |d| and q = min(a, δ), the loss is
    /// ½q² + δ(a − q), and its gradient d clamped to [−δ, δ].
    fileprivate static func huberOnDevice<Scalar>(_ prediction: Variable<Scalar>, _ difference: Tensor<Scalar>, delta: Scalar) throws
        -> Variable<Scalar>
    {
        let magnitude = difference.abs()
        let quadratic = magnitude.minimum(delta)
        let count = Scalar(Swift.max(difference.count, 1))
        let losses = try quadratic * quadratic * (1 / 2) + (magnitude - quadratic) * delta
        return Variable.result(losses.sum() / count, "huber", [prediction]) { g in
            [try difference.clamped(lower: -delta, upper: delta) * (g * (1 / count))]
        }
    }

    /// Binary cross-entropy on a device, in elementwise kernels: max(x, 0) − x·y + log(1 + e^−|x|)
    /// (the argument of the logarithm lies in [1, 2], so it loses nothing), gradient σ(x) − y.
    fileprivate static func binaryCrossEntropyOnDevice<Scalar>(_ logits: Variable<Scalar>, _ targets: Tensor<Scalar>) throws
        -> Variable<Scalar>
    {
        let x = logits.value
        let losses = try x.relu() - x * targets + ((-x.abs()).exp() + 1).log()
        let count = Scalar(Swift.max(losses.count, 1))
        return Variable.result(losses.sum() / count, "binaryCrossEntropy", [logits]) { g in
            [try (x.sigmoid() - targets) * (g * (1 / count))]
        }
    }
}

/// An error in a loss's inputs.
public enum LossError: Error, Equatable, CustomStringConvertible {
    /// A class index outside the logits' classes.
    case labelOutOfRange(label: Int, classes: Int)

    public var description: String {
        switch self {
        case .labelOutOfRange(let label, let classes): "label \(label) is outside the \(classes) classes 0..<\(classes)"
        }
    }
}
