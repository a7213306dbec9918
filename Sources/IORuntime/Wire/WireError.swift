/// An error decoding bytes from the wire: what was being read and what was wrong.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input ended before `what` was complete.
    case truncated(what: String, needed: Int, remaining: Int)
    /// The input is malformed.
    case invalid(what: String, reason: String)
    /// A frame of a protocol version this build does not speak.
    case unsupportedVersion(UInt8)
    /// A value of another type than the one expected.
    case typeMismatch(expected: String, found: String)

    public var description: String {
        switch self {
        case .truncated(let what, let needed, let remaining):
            "truncated \(what): needed \(needed) bytes, \(remaining) remain"
        case .invalid(let what, let reason): "invalid \(what): \(reason)"
        case .unsupportedVersion(let version): "unsupported wire protocol version \(version)"
        case .typeMismatch(let expected, let found): "expected a value of type \(expected), found \(found)"
        }
    }
}
