/// One hyperparameter's value: a number, an integer, a string or a flag.
public enum ParameterValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case float(Double)
    case int(Int)
    case string(String)
    case bool(Bool)

    /// The value's kind, as errors name it.
    public var kind: String {
        switch self {
        case .float: "a float"
        case .int: "an integer"
        case .string: "a string"
        case .bool: "a flag"
        }
    }

    public var description: String {
        switch self {
        case .float(let value): "\(value)"
        case .int(let value): "\(value)"
        case .string(let value): value
        case .bool(let value): "\(value)"
        }
    }

    /// The value as a number, for a searcher that models numbers (`nil` for strings and flags).
    var number: Double? {
        switch self {
        case .float(let value): value
        case .int(let value): Double(value)
        case .string, .bool: nil
        }
    }
}

extension ParameterValue: ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral
{
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
