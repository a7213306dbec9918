import Distributed
import IORuntime

extension Dataset where Element: WireSerializable {
    /// Batches of `size` rows, each run as a task of the registered `function` on `cluster`, at
    /// most `maxInFlight` at once (twice the workers by default).
    ///
    /// Each batch travels to its task as the task's argument and its result comes back through
    /// the object store; at most `maxInFlight` results are held there at once, so a dataset far
    /// larger than the store flows through it without spilling.
    public func mapBatches<Output: WireSerializable>(
        size: Int, function: RemoteFunction<[Element], [Output]>, on cluster: Cluster, maxInFlight: Int? = nil,
        preservingOrder: Bool = true, options: TaskOptions = TaskOptions()
    ) -> Dataset<Output> {
        windowed(
            name: function.name, size: size, window: maxInFlight ?? 2 * Swift.max(cluster.configuration.workers, 1),
            preservingOrder: preservingOrder, knownCount: nil
        ) { batch in
            try await cluster.submit(function, batch, options: options).get()
        }
    }

    /// Batches of `size` rows, each handed to a member of `pool` through `call` — batch inference
    /// with a model each member loaded once (see `ActorPool`). As many batches are in flight
    /// as the pool can take at its largest (its members times `ActorPool.maxInFlightPerActor`);
    /// a batch whose member dies runs again on another.
    ///
    /// ```swift
    /// let predictions = images.mapBatches(size: 256, using: pool) { classifier, batch in
    ///     try await classifier.predict(batch)
    /// }
    /// ```
    public func mapBatches<Act: DistributedActor, Output: Sendable>(
        size: Int, using pool: ActorPool<Act>, preservingOrder: Bool = true,
        _ call: @escaping @Sendable (Act, [Element]) async throws -> [Output]
    ) -> Dataset<Output> where Act.ActorSystem == ClusterActorSystem {
        windowed(
            name: String(describing: Act.self), size: size, window: pool.maximumSize * pool.maxInFlightPerActor,
            preservingOrder: preservingOrder, knownCount: nil
        ) { batch in
            try await pool.submit { actor in try await call(actor, batch) }
        }
    }
}
