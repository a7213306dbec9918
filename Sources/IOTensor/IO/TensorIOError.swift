/// An error reading or writing tensors to files: what was being read, and what was wrong with it.
public enum TensorIOError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No file exists at `path`.
    case fileNotFound(path: String)
    /// The file exists but could not be read.
    case readFailed(path: String, reason: String)
    /// The file could not be written.
    case writeFailed(path: String, reason: String)
    /// The input ended early: `what` needed `expected` bytes and only `actual` were there.
    case truncated(what: String, expected: Int, actual: Int)
    /// The input is malformed.
    case corrupt(what: String, reason: String)
    /// A safetensors file holds a dtype IOCompute does not support (such as `BF16`).
    case unsupportedDType(name: String, tensor: String)
    /// A CSV field is not a number, or a row has the wrong number of fields.
    case invalidCSV(line: Int, reason: String)
    /// A tensor holds more bytes than the format can describe or the caller allowed.
    case tooLarge(what: String, limit: Int)

    public var description: String {
        switch self {
        case .fileNotFound(let path): "no file at \(path)"
        case .readFailed(let path, let reason): "could not read \(path): \(reason)"
        case .writeFailed(let path, let reason): "could not write \(path): \(reason)"
        case .truncated(let what, let expected, let actual): "\(what) is truncated: needed \(expected) bytes, found \(actual)"
        case .corrupt(let what, let reason): "\(what) is corrupt: \(reason)"
        case .unsupportedDType(let name, let tensor): "tensor \"\(tensor)\" has dtype \(name), which IOTensor does not support"
        case .invalidCSV(let line, let reason): "CSV line \(line): \(reason)"
        case .tooLarge(let what, let limit): "\(what) exceeds the limit of \(limit) bytes"
        }
    }
}
