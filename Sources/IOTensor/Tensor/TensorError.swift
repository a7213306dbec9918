/// An error from a tensor operation: the operation, and what about its input was wrong.
///
/// Every case's ``description`` names the offending shapes, axes or dtypes, so that a message
/// like `matmul: shapes [3, 4] and [5, 2] do not match (inner dimensions 4 and 5 differ)` tells the
/// reader what to fix.
public enum TensorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Two operands' shapes are incompatible for `operation`.
    case shapeMismatch(operation: String, lhs: [Int], rhs: [Int], reason: String)
    /// A shape is invalid for `operation` (a negative dimension, a wrong element count, …).
    case invalidShape(operation: String, shape: [Int], reason: String)
    /// An axis is outside `-rank..<rank`.
    case invalidAxis(operation: String, axis: Int, rank: Int)
    /// An index or a range is outside a dimension.
    case indexOutOfRange(operation: String, index: Int, dimension: Int)
    /// The dtype of an erased tensor is not the one asked for.
    case dtypeMismatch(operation: String, expected: DType, actual: DType)
    /// A matrix that must be invertible is singular (LAPACK reported a zero pivot).
    case singularMatrix(operation: String)
    /// A matrix that must be symmetric positive definite is not (Cholesky found a non-positive pivot).
    case notPositiveDefinite(operation: String)
    /// An iterative LAPACK routine did not converge.
    case noConvergence(operation: String)
    /// A LAPACK routine reported an unexpected error code.
    case lapackFailure(routine: String, info: Int)
    /// An argument is invalid for `operation`.
    case invalidArgument(operation: String, reason: String)
    /// A device is missing, cannot hold the tensor, or failed (`device` as `"opencl:0"`).
    case device(operation: String, device: String, reason: String)

    public var description: String {
        switch self {
        case .shapeMismatch(let operation, let lhs, let rhs, let reason):
            "\(operation): shapes \(lhs) and \(rhs) do not match (\(reason))"
        case .invalidShape(let operation, let shape, let reason):
            "\(operation): invalid shape \(shape) (\(reason))"
        case .invalidAxis(let operation, let axis, let rank):
            "\(operation): axis \(axis) is out of range for a tensor of rank \(rank) (valid: \(-rank)..<\(rank))"
        case .indexOutOfRange(let operation, let index, let dimension):
            "\(operation): index \(index) is out of range for a dimension of size \(dimension)"
        case .dtypeMismatch(let operation, let expected, let actual):
            "\(operation): expected a tensor of dtype \(expected), found \(actual)"
        case .singularMatrix(let operation):
            "\(operation): the matrix is singular"
        case .notPositiveDefinite(let operation):
            "\(operation): the matrix is not positive definite"
        case .noConvergence(let operation):
            "\(operation): the algorithm did not converge"
        case .lapackFailure(let routine, let info):
            "\(routine) failed with info = \(info)"
        case .invalidArgument(let operation, let reason):
            "\(operation): \(reason)"
        case .device(let operation, let device, let reason):
            "\(operation) on \(device): \(reason)"
        }
    }
}
