import IORuntime

/// A version of the policy as env runners receive it: the version number travels in the call,
/// the weights stay in the cluster's object store — put there once per version by
/// ``RunnerGroup/publish(_:)`` and read by each runner that does not hold that version yet
/// (through shared memory from a worker process on the driver's host).
public struct PublishedPolicy: Sendable, WireSerializable {
    /// The weights' version (``PolicyWeights/version``).
    public let version: Int
    /// The weights in the object store.
    public let weights: BorrowedRef<PolicyWeights>

    public init(version: Int, weights: BorrowedRef<PolicyWeights>) {
        self.version = version
        self.weights = weights
    }

    public func encode(to encoder: inout WireEncoder) {
        encoder.writeLength(version)
        weights.encode(to: &encoder)
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        version = try decoder.readLength()
        weights = try BorrowedRef(from: &decoder)
    }
}
