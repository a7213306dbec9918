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
        try await spawn(type, registeredAs: typeName, arguments: nil, argumentType: nil, options: options)
    }

    /// Creates an actor of a type registered with ``Registry/actor(_:arguments:registeredAs:factory:)``,
    /// built from `arguments`: a value, or an ``ObjectRef`` to one — put a model's weights in the
    /// object store once and spawn every replica from the ref, and each worker fetches them from
    /// the store instead of the driver sending a copy per actor. The arguments are kept with the
    /// actor (the object stays alive) so that a restart builds it from the same ones.
    ///
    /// - Throws: as ``spawn(_:options:)``; ``ClusterError/signatureMismatch(name:registered:requested:)``
    ///   when the type was registered with other arguments (or none); the error of the task that
    ///   was to make the referenced object, when it failed.
    public func spawn<Act: DistributedActor, Input: TaskArgumentConvertible>(
        _ type: Act.Type, registeredAs typeName: String? = nil, with arguments: Input, options: ActorOptions = ActorOptions()
    ) async throws -> Act where Act.ActorSystem == ClusterActorSystem {
        let spawnArguments: SpawnArguments
        switch arguments.taskArgument.storage {
        case .value(let value):
            // A large value goes into the object store, so that restarts (and the worker that
            // builds the actor) read it from there.
            let payload = core.routesPayload(value)
            if core.router.isNetwork, payload.byteCount > ObjectTransfer.inlineLimit {
                let handle = try core.put(value)
                spawnArguments = .object(handle.id, handle)
            } else {
                spawnArguments = .value(payload)
            }
        case .reference(let id, let handle):
            guard handle.core === core else { throw ClusterError.objectLost(id) }
            spawnArguments = .object(id, handle)
        case .gathered(_, let handles, let assemble):
            // Gathered refs arrive as one array value, assembled here.
            var parts: [Payload] = []
            for handle in handles { parts.append(try await core.payload(of: handle.id)) }
            spawnArguments = .value(core.routesPayload(try assemble(parts)))
        }
        return try await spawn(
            type, registeredAs: typeName ?? String(reflecting: type), arguments: spawnArguments,
            argumentType: Input.ArgumentValue.wireTypeName, options: options)
    }

    private func spawn<Act: DistributedActor>(
        _ type: Act.Type, registeredAs typeName: String, arguments: SpawnArguments?, argumentType: String?, options: ActorOptions
    ) async throws -> Act where Act.ActorSystem == ClusterActorSystem {
        guard let factory = core.registry.actors[typeName] else { throw ClusterError.notRegistered(name: typeName) }
        try factory.check(argumentType, typeName: typeName)
        guard options.maxRestarts >= 0 else { throw ClusterError.invalidConfiguration("maxRestarts cannot be negative") }
        guard options.maxConcurrency >= 1 else { throw ClusterError.invalidConfiguration("maxConcurrency must be at least 1") }
        var options = options
        if core.router.isNetwork {
            // The object the actor is built from must be ready before a worker can fetch it.
            var input: TaskInput?
            if let arguments { input = try await core.spawnInput(arguments) }
            if case .object(let id, _)? = arguments {
                // An actor built from a pinned object is built where the object is.
                options.placement = try core.actorPlacement(from: id, options.placement, needs: options.resources, typeName: typeName)
            }
            let worker = try core.reserveActor(options.resources, placement: options.placement, typeName: typeName)
            // Built by the worker process under an identity chosen here; the driver holds a proxy.
            let id = ActorIdentity(session: core.actorHub.session, sequence: core.actorHub.nextSequence())
            do {
                try await core.actorHub.spawn(id, on: worker, typeName: typeName, options: options, arguments: arguments) {
                    let spawn = ActorSpawn(actor: id, typeName: typeName, maxConcurrency: options.maxConcurrency, arguments: input)
                    core.router.send(.spawnActor(spawn), toWorker: worker)
                }
                return try reference(to: id, as: type)
            } catch {
                _ = core.actorHub.resign(id)
                core.releaseActor(options.resources, placement: options.placement, worker: worker)
                throw (error as? TaskError)?.underlying ?? error
            }
        }
        let payload: Payload?
        switch arguments {
        case nil: payload = nil
        case .value(let value): payload = value
        case .object(let id, _):
            payload = try await core.payload(of: id, pinnedFor: .actorOnHolder)
            options.placement = try core.actorPlacement(from: id, options.placement, needs: options.resources, typeName: typeName)
        }
        let worker = try core.reserveActor(options.resources, placement: options.placement, typeName: typeName)
        let system = core.workerActorSystems[worker]
        do {
            let built = try ClusterActorSystem.$current.withValue(system) { try factory.build(system, payload) }
            guard let actor = built as? Act, actor.actorSystem === system else { throw ActorError.wrongSystem(typeName) }
            try core.actorHub.setDetails(
                actor.id, name: options.name, resources: options.resources, placement: options.placement,
                maxConcurrency: options.maxConcurrency)
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
    ///
    /// In an in-process cluster that does not route through the codec, a reference already held
    /// to an actor with one call at a time is the actor itself: Swift runs its calls directly,
    /// without the cluster, so they still reach it after `kill`. Only references resolved
    /// afterwards (by ``actor(named:as:)``) fail.
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
