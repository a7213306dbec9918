import Distributed

extension Cluster {
    /// Creates an actor of a registered type on a worker with room for `options.resources`, and
    /// returns a reference to it.
    ///
    /// The actor lives until ``kill(_:)`` or ``shutdown(grace:)``. Its reference can be passed to
    /// tasks and to other actors (declare `extension MyActor: WireSerializable {}` to allow it).
    ///
    /// - Throws: ``ClusterError/notRegistered(name:)`` for an unregistered type,
    ///   ``ClusterError/unschedulable(task:reason:)`` when no worker has room,
    ///   ``ActorError/nameTaken(_:)`` when the name is in use.
    public func spawn<Act: DistributedActor>(_ type: Act.Type, options: ActorOptions = ActorOptions()) async throws -> Act
    where Act.ActorSystem == ClusterActorSystem {
        try await spawn(type, registeredAs: String(reflecting: type), options: options)
    }

    /// Creates an actor registered under `typeName` with ``Registry/actor(_:registeredAs:factory:)``
    /// (one actor type registered several times, each with its own factory), and returns a
    /// reference to it.
    ///
    /// - Throws: as ``spawn(_:options:)``; ``ActorError/wrongSystem(_:)`` when the factory
    ///   registered under `typeName` builds another type.
    public func spawn<Act: DistributedActor>(
        _ type: Act.Type, registeredAs typeName: String, options: ActorOptions = ActorOptions()
    ) async throws -> Act where Act.ActorSystem == ClusterActorSystem {
        guard let factory = core.registry.actors[typeName] else { throw ClusterError.notRegistered(name: typeName) }
        guard options.maxRestarts >= 0 else { throw ClusterError.invalidConfiguration("maxRestarts cannot be negative") }
        let worker = try core.reserveActor(options.resources, placement: options.placement, typeName: typeName)
        if core.router.isNetwork {
            // Built by the worker process under an identity chosen here; the driver holds a proxy.
            let id = ActorIdentity(session: core.actorHub.session, sequence: core.actorHub.nextSequence())
            do {
                try await core.actorHub.spawn(id, on: worker, typeName: typeName, options: options) {
                    core.router.send(.spawnActor(ActorSpawn(actor: id, typeName: typeName)), toWorker: worker)
                }
                return try reference(to: id, as: type)
            } catch {
                _ = core.actorHub.resign(id)
                core.releaseActor(options.resources, placement: options.placement, worker: worker)
                throw (error as? TaskError)?.underlying ?? error
            }
        }
        let system = core.workerActorSystems[worker]
        do {
            let built = try ClusterActorSystem.$current.withValue(system) { try factory(system) }
            guard let actor = built as? Act, actor.actorSystem === system else { throw ActorError.wrongSystem(typeName) }
            try core.actorHub.setDetails(actor.id, name: options.name, resources: options.resources, placement: options.placement)
            return try reference(to: actor.id, as: type)
        } catch {
            core.releaseActor(options.resources, placement: options.placement, worker: worker)
            throw error
        }
    }

    /// Reserves `bundles` of resources together — all or none — laid out by `strategy`; tasks and
    /// actors placed with ``PlacementGroup/bundle(_:)`` then draw on those reservations.
    ///
    /// - Throws: ``ClusterError/unschedulable(task:reason:)`` when the bundles do not fit the free
    ///   resources now (the request is not queued).
    public func createPlacementGroup(_ bundles: [ResourceSet], strategy: PlacementStrategy = .pack) async throws -> PlacementGroup {
        try core.createPlacementGroup(bundles, strategy: strategy)
    }

    /// Releases a placement group's reservations.
    public func removePlacementGroup(_ group: PlacementGroup) { core.removePlacementGroup(group) }

    /// The actor registered under `name`, as a reference of type `type`.
    public func actor<Act: DistributedActor>(named name: String, as type: Act.Type) throws -> Act
    where Act.ActorSystem == ClusterActorSystem {
        guard let id = core.actorHub.lookup(name: name) else { throw ActorError.nameNotFound(name) }
        return try reference(to: id, as: type)
    }

    /// Stops an actor: it leaves the cluster, its resources return to its worker, and later calls
    /// throw ``ActorError/notFound(_:)``.
    public func kill<Act: DistributedActor>(_ actor: Act) where Act.ActorSystem == ClusterActorSystem {
        guard let hosted = core.actorHub.resign(actor.id) else { return }
        if core.router.isNetwork { core.router.send(.killActor(actor.id), toWorker: hosted.worker) }
        core.releaseActor(hosted.resources, placement: hosted.placement, worker: hosted.worker)
    }

    /// The reference the driver uses: the actor itself in process, a proxy when the cluster routes
    /// through the codec.
    private func reference<Act: DistributedActor>(to id: ActorIdentity, as type: Act.Type) throws -> Act
    where Act.ActorSystem == ClusterActorSystem {
        try Act.resolve(id: id, using: core.driverActorSystem)
    }
}
