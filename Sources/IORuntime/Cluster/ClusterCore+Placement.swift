// Placement groups and where actors go: resources reserved on workers.
extension ClusterCore {
    // MARK: Placement groups

    func createPlacementGroup(_ bundles: [ResourceSet], strategy: PlacementStrategy) throws(ClusterError) -> PlacementGroup {
        guard !bundles.isEmpty, bundles.allSatisfy(\.isValid) else {
            throw .unschedulable(task: "placement group", reason: "bundles must be non-empty, finite and non-negative")
        }
        let id = ids.nextSequence()
        let workers = try state.withLock { (state) throws(ClusterError) -> [Int] in
            guard !state.isShutDown else { throw .shutDown }
            guard let workers = state.reserve(bundles: bundles, strategy: strategy, group: id) else {
                throw .unschedulable(task: "placement group", reason: "\(bundles) do not fit the free resources with strategy \(strategy)")
            }
            return workers
        }
        return PlacementGroup(id: id, bundles: bundles, workers: workers)
    }

    func removePlacementGroup(_ group: PlacementGroup) {
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            state.removePlacementGroup(group.id)
            state.schedule(effects: &effects)
            return effects
        }
        perform(effects)
    }

    // MARK: Actor placement

    /// Picks a worker for an actor and holds `resources` there until ``releaseActor(_:worker:)``.
    func reserveActor(_ resources: ResourceSet, placement: Placement, typeName: String) throws(ClusterError) -> Int {
        try state.withLock { (state) throws(ClusterError) -> Int in
            guard !state.isShutDown else { throw .shutDown }
            let options = TaskOptions(resources: resources, placement: placement)
            guard resources.isValid, state.isSatisfiable(options) else {
                throw .unschedulable(
                    task: typeName, reason: "no worker offers \(resources) (each offers \(configuration.resourcesPerWorker))")
            }
            guard let worker = state.chooseWorker(needs: resources, placement: placement, inputs: []) else {
                throw .unschedulable(task: typeName, reason: "no worker has \(resources) free now")
            }
            state.acquire(resources, placement: placement, worker: worker)
            return worker
        }
    }

    /// Gives back an actor's resources.
    func releaseActor(_ resources: ResourceSet, placement: Placement, worker: Int) {
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            guard state.workers.indices.contains(worker) else { return effects }
            state.giveBack(resources, placement: placement, worker: worker)
            state.schedule(effects: &effects)
            return effects
        }
        perform(effects)
    }
}
