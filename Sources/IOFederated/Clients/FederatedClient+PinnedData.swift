import IORuntime

extension FederatedClient {
    /// The name `Registry.federatedClients(_:)` registers clients built from
    /// ``ClientData`` under.
    public static let fromPinnedData = "IOFederated.FederatedClient.fromPinnedData"

    /// A client whose learner is built from `data`, which the runtime handed to this node's
    /// worker because it is pinned here.
    public init(actorSystem: ClusterActorSystem, data: ClientData, catalog: LearnerCatalog) throws {
        self.init(actorSystem: actorSystem, configuration: data.configuration, learner: try catalog.make(from: data))
    }
}

extension Cluster {
    /// Loads a client's data with `loader` on worker `worker`, pinned there
    /// (`TaskOptions.pinsResult`): it never leaves that worker's process.
    ///
    /// - Throws: `ClusterError` when the loader is not registered or `worker` does
    ///   not exist; the loader's own error comes with the ref.
    public func loadClientData(
        _ loader: RemoteFunction<ClientConfiguration, ClientData>, _ configuration: ClientConfiguration, on worker: Int,
        resources: ResourceSet = [.cpu: 1]
    ) async throws -> ObjectRef<ClientData> {
        try await submit(
            loader, configuration, options: TaskOptions(resources: resources, placement: .worker(worker, strict: true), pinsResult: true))
    }

    /// Spawns a federated client built from pinned `data`, on the worker that holds it. The
    /// client reads only that data; the server never can.
    ///
    /// - Throws: ``FederatedError/pinnedObject(_:)`` when `data` is not pinned (the rows could
    ///   then travel); `ClusterError.pinned(object:worker:reason:)` when `options`
    ///   place the client elsewhere; the loader's error when loading failed.
    public func spawnClient(on data: ObjectRef<ClientData>, options: ActorOptions = ActorOptions()) async throws -> FederatedClient {
        guard data.isPinned else {
            throw FederatedError.pinnedObject(
                "client data \(data.id) is not pinned; load it with loadClientData(_:_:on:) or TaskOptions(pinsResult: true)")
        }
        return try await spawn(FederatedClient.self, registeredAs: FederatedClient.fromPinnedData, with: data, options: options)
    }
}
