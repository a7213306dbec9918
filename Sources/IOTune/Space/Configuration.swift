/// The values a trial got, by parameter name, read as the type each parameter has.
///
/// ```swift
/// let rate = try configuration.float("lr")
/// let width = try configuration.int("width")
/// let optimizer = try configuration.choice("optimizer")   // a String
/// ```
public struct Configuration: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The values by name.
    public private(set) var values: [String: ParameterValue]

    public init(_ values: [String: ParameterValue] = [:]) { self.values = values }

    /// The value of `name`.
    ///
    /// - Throws: ``TuneError/unknownParameter(_:known:)`` when the configuration has no `name`.
    public func value(_ name: String) throws(TuneError) -> ParameterValue {
        guard let value = values[name] else { throw .unknownParameter(name, known: values.keys.sorted()) }
        return value
    }

    /// A float parameter (an integer one reads as a float too).
    public func float(_ name: String) throws(TuneError) -> Double {
        switch try value(name) {
        case .float(let value): return value
        case .int(let value): return Double(value)
        case let other: throw .wrongType(parameter: name, expected: "a float", actual: other.kind)
        }
    }

    /// An integer parameter.
    public func int(_ name: String) throws(TuneError) -> Int {
        guard case .int(let value) = try value(name) else {
            throw .wrongType(parameter: name, expected: "an integer", actual: try value(name).kind)
        }
        return value
    }

    /// A string parameter (a choice among strings).
    public func choice(_ name: String) throws(TuneError) -> String {
        guard case .string(let value) = try value(name) else {
            throw .wrongType(parameter: name, expected: "a string", actual: try value(name).kind)
        }
        return value
    }

    /// A flag parameter.
    public func bool(_ name: String) throws(TuneError) -> Bool {
        guard case .bool(let value) = try value(name) else {
            throw .wrongType(parameter: name, expected: "a flag", actual: try value(name).kind)
        }
        return value
    }

    mutating func set(_ name: String, _ value: ParameterValue) { values[name] = value }

    public var description: String {
        values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }
}
