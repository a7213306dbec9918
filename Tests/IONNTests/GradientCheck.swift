import IONN
import IOTensor
import Testing

/// Central finite differences in float64: the reference every gradient is checked against.
enum GradientCheck {
    /// Fresh random inputs of `shapes` (normal, or uniform in `range` when given).
    static func inputs(_ shapes: [[Int]], seed: UInt64, range: ClosedRange<Double>? = nil) throws -> [Tensor<Double>] {
        try shapes.enumerated().map { index, shape in
            if let range {
                return try Tensor<Double>.randomUniform(
                    shape, lowerBound: range.lowerBound, upperBound: range.upperBound, seed: seed &+ UInt64(index))
            }
            return try Tensor<Double>.randomNormal(shape, seed: seed &+ UInt64(index))
        }
    }

    /// Checks the gradients `f` gives its inputs against central differences of Σ(f(x)·R), with R
    /// a fixed random tensor (so that outputs of any shape are checked in every direction).
    static func check(
        _ inputs: [Tensor<Double>], seed: UInt64 = 99, step: Double = 1e-6, tolerance: Double = 1e-6,
        sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Variable<Double>]) throws -> Variable<Double>
    ) throws {
        let variables = inputs.map { Variable($0, requiresGradient: true) }
        let output = try f(variables)
        let projection = try Tensor<Double>.randomNormal(output.shape, seed: seed)
        try (output * Variable(projection)).sum().backward()

        func loss(_ values: [Tensor<Double>]) throws -> Double {
            try withoutGradients {
                let output = try f(values.map { Variable($0) })
                return try (output.value * projection).sum().scalar
            }
        }
        for (index, input) in inputs.enumerated() {
            guard let analytic = variables[index].gradient else {
                Issue.record("input \(index) got no gradient", sourceLocation: sourceLocation)
                continue
            }
            #expect(analytic.shape == input.shape, sourceLocation: sourceLocation)
            let scalars = input.scalars
            let computed = analytic.scalars
            for element in scalars.indices {
                var plus = inputs, minus = inputs
                plus[index] = try Tensor(shape: input.shape, scalars: scalars.enumerated().map { $0 == element ? $1 + step : $1 })
                minus[index] = try Tensor(shape: input.shape, scalars: scalars.enumerated().map { $0 == element ? $1 - step : $1 })
                let numeric = (try loss(plus) - loss(minus)) / (2 * step)
                let error = abs(numeric - computed[element])
                #expect(
                    error <= tolerance + 1e-5 * abs(numeric),
                    "input \(index) element \(element): analytic \(computed[element]), numeric \(numeric)", sourceLocation: sourceLocation)
            }
        }
    }
}
