import IOTensor

/// An error loading saved weights or optimizer state.
public enum StateDictionaryError: Error, Equatable, CustomStringConvertible {
    /// The model has a tensor the saved state lacks.
    case missing(name: String)
    /// The saved state has a tensor the model lacks (strict loading only).
    case unexpected(name: String)
    /// A saved tensor's shape is not the model's.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    /// A saved tensor has another element type.
    case dtypeMismatch(name: String, expected: DType, actual: DType)
    /// Saved optimizer state that does not fit this optimizer.
    case invalidOptimizerState(String)

    public var description: String {
        switch self {
        case .missing(let name): "the saved state has no tensor \"\(name)\""
        case .unexpected(let name): "the saved state has a tensor \"\(name)\" that the model does not"
        case .shapeMismatch(let name, let expected, let actual):
            "\"\(name)\" has shape \(actual) in the saved state, the model expects \(expected)"
        case .dtypeMismatch(let name, let expected, let actual):
            "\"\(name)\" holds \(actual) in the saved state, the model expects \(expected)"
        case .invalidOptimizerState(let reason): "the saved optimizer state does not fit: \(reason)"
        }
    }
}

extension Layer {
    /// The parameters and buffers by name (PyTorch's `state_dict()`): their current values.
    public func stateDictionary() -> [String: Tensor<Scalar>] {
        Dictionary(namedState.map { ($0.name, $0.variable.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// Parameters, then buffers.
    var namedState: [(name: String, variable: Variable<Scalar>)] {
        namedParameters.map { ($0.name, $0.parameter) } + namedBuffers.map { ($0.name, $0.buffer) }
    }

    /// Sets every parameter from `state`, checking names and shapes first so that a failed load
    /// changes nothing. With `strict` (the default), extra tensors in `state` are an error too.
    ///
    /// - Throws: ``StateDictionaryError`` naming the first missing, unexpected or mis-shaped tensor.
    public func loadStateDictionary(_ state: [String: Tensor<Scalar>], strict: Bool = true) throws(StateDictionaryError) {
        let named = namedState
        for (name, parameter) in named {
            guard let tensor = state[name] else { throw .missing(name: name) }
            guard tensor.shape == parameter.shape else { throw .shapeMismatch(name: name, expected: parameter.shape, actual: tensor.shape) }
        }
        if strict, let extra = Set(state.keys).subtracting(named.map(\.name)).sorted().first { throw .unexpected(name: extra) }
        for (name, parameter) in named {
            try? parameter.assign(state[name]!)  // Checked above: a leaf of the same shape.
        }
    }

    /// Saves the parameters as a safetensors file (readable by PyTorch's `safetensors`).
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        try Safetensors.write(stateDictionary(), metadata: metadata, to: path)
    }

    /// Loads parameters saved by ``save(to:metadata:)`` or exported from PyTorch.
    ///
    /// - Throws: `TensorIOError` for an unreadable file, ``StateDictionaryError`` for one that
    ///   does not fit the model.
    public func load(from path: String, strict: Bool = true) throws {
        let archive = try Safetensors.read(contentsOf: path)
        var state: [String: Tensor<Scalar>] = [:]
        for (name, tensor) in archive.tensors {
            guard tensor.dtype == Scalar.dtype else {
                if namedState.contains(where: { $0.name == name }) || strict {
                    throw StateDictionaryError.dtypeMismatch(name: name, expected: Scalar.dtype, actual: tensor.dtype)
                }
                continue
            }
            state[name] = try tensor.tensor(as: Scalar.self)
        }
        try loadStateDictionary(state, strict: strict)
    }
}
