import IORuntime
import IOTensor

/// A model's parameters as one flat vector and the layout that rebuilds them: what the server
/// sends to clients, what clients send back, and what strategies aggregate.
///
/// ```swift
/// let global = ModelParameters(model.stateDictionary())
/// try model.loadStateDictionary(try global.stateDictionary())
/// ```
public struct ModelParameters: Sendable, Equatable {
    /// One named tensor's place in ``values``.
    public struct Slot: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var count: Int { shape.reduce(1, *) }

        public init(name: String, shape: [Int]) {
            self.name = name
            self.shape = shape
        }
    }

    /// The tensors in name order.
    public let layout: [Slot]
    /// Every tensor's elements, one after another in ``layout``'s order.
    public var values: [Float]

    /// Parameters of `layout` holding `values`.
    ///
    /// - Throws: ``FederatedError/shapeMismatch(_:)`` when the counts differ or a shape has a
    ///   negative dimension.
    public init(layout: [Slot], values: [Float]) throws(FederatedError) {
        guard layout.allSatisfy({ $0.shape.allSatisfy { $0 >= 0 } }) else { throw .shapeMismatch("a negative dimension in \(layout)") }
        let expected = layout.reduce(0) { $0 + $1.count }
        guard expected == values.count else { throw .shapeMismatch("\(values.count) values for a layout of \(expected)") }
        self.layout = layout
        self.values = values
    }

    /// The tensors of a state dictionary (on any device), flattened in name order.
    public init(_ state: [String: Tensor<Float>]) {
        var layout: [Slot] = []
        var values: [Float] = []
        for name in state.keys.sorted() {
            let tensor = state[name]!
            layout.append(Slot(name: name, shape: tensor.shape))
            values += ((try? tensor.to(.cpu)) ?? tensor).scalars
        }
        self.layout = layout
        self.values = values
    }

    /// The same layout holding `values` (an aggregate, an update).
    public func replacingValues(_ values: [Float]) throws(FederatedError) -> ModelParameters {
        try ModelParameters(layout: layout, values: values)
    }

    /// The tensors by name, in host memory.
    public func stateDictionary() throws -> [String: Tensor<Float>] {
        var state: [String: Tensor<Float>] = [:]
        var offset = 0
        for slot in layout {
            state[slot.name] = try Tensor(shape: slot.shape, scalars: Array(values[offset..<(offset + slot.count)]))
            offset += slot.count
        }
        return state
    }

    /// Whether every element is finite.
    public var isFinite: Bool { values.allSatisfy(\.isFinite) }
}

extension ModelParameters: WireSerializable {
    public func encode(to encoder: inout WireEncoder) {
        encoder.writeLength(layout.count)
        for slot in layout {
            encoder.write(slot.name)
            slot.shape.encode(to: &encoder)
        }
        values.encode(to: &encoder)
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        let count = try decoder.readLength()
        var layout: [Slot] = []
        for _ in 0..<count { layout.append(Slot(name: try decoder.read(String.self), shape: try [Int](from: &decoder))) }
        let values = try [Float](from: &decoder)
        // The layout must account for every value: a lying peer's sizes stop here.
        var total = 0
        for slot in layout {
            guard slot.shape.allSatisfy({ $0 >= 0 }) else { throw .invalid(what: "model parameters", reason: "negative dimension") }
            let (product, overflow) = slot.shape.reduce((1, false)) { partial, dimension in
                let (next, flag) = partial.0.multipliedReportingOverflow(by: dimension)
                return (next, partial.1 || flag)
            }
            guard !overflow, product <= values.count else {
                throw .invalid(what: "model parameters", reason: "a slot larger than the values")
            }
            total += product
        }
        guard total == values.count else {
            throw .invalid(what: "model parameters", reason: "a layout of \(total) for \(values.count) values")
        }
        self.layout = layout
        self.values = values
    }
}

/// What one client sends back from a round: its new parameters, how many examples they were
/// trained on (FedAvg's weight), and its metrics.
public struct ClientUpdate: Sendable, Equatable {
    public var client: String
    public var parameters: ModelParameters
    public var sampleCount: Int
    public var metrics: [String: Double]

    public init(client: String, parameters: ModelParameters, sampleCount: Int, metrics: [String: Double] = [:]) {
        self.client = client
        self.parameters = parameters
        self.sampleCount = sampleCount
        self.metrics = metrics
    }
}

extension ClientUpdate: WireSerializable {
    public func encode(to encoder: inout WireEncoder) {
        encoder.write(client)
        parameters.encode(to: &encoder)
        encoder.writeLength(sampleCount)
        encoder.writeLength(metrics.count)
        for (name, value) in metrics.sorted(by: { $0.key < $1.key }) {
            encoder.write(name)
            encoder.write(value)
        }
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        client = try decoder.read(String.self)
        parameters = try ModelParameters(from: &decoder)
        sampleCount = try decoder.readLength()
        let count = try decoder.readLength()
        var metrics: [String: Double] = [:]
        for _ in 0..<count { metrics[try decoder.read(String.self)] = try decoder.read(Double.self) }
        self.metrics = metrics
    }
}
