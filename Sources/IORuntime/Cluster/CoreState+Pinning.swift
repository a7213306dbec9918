// Pinned objects (`TaskOptions.pinsResult`): work goes to the worker that holds them, never the
// other way round.
extension CoreState {
    /// Puts a task whose inputs are all ready in the queue it is scheduled from: placed on the
    /// worker that holds its pinned inputs, if it has any, or marked to fail when it cannot run
    /// there.
    mutating func makeReady(_ taskID: UInt64) {
        guard let index = tasks.index(forKey: taskID) else { return }
        tasks.values[index].phase = .waitingForResources
        tasks.values[index].lentResources = false
        switch pinnedPlacement(of: tasks.values[index]) {
        case nil: break
        case .success(let placement)?: tasks.values[index].options.placement = placement
        case .failure(let refusal)?: tasks.values[index].pinRefusal = refusal
        }
        let options = tasks.values[index].options
        readyQueues[ReadyQueueKey(resources: options.resources, placement: options.placement), default: []].append(taskID)
    }

    /// Where `task` must run because of its pinned inputs: `nil` when it has none, the holder's
    /// worker when its placement allows that worker, a refusal naming the object otherwise.
    func pinnedPlacement(of task: TaskRecord) -> Result<Placement, ClusterError>? {
        var holder: (object: ObjectID, worker: Int)?
        for slot in task.arguments {
            switch slot {
            case .value: continue
            case .gathered(let ids, _):
                // Gathered parts are assembled on the driver: a pinned part would leave its worker.
                if let id = ids.first(where: { objects[$0]?.flag.isPinned == true }) {
                    return .failure(
                        .pinned(
                            object: id, worker: objects[id]?.location,
                            reason: "task \"\(task.function.name)\" gathers it with other refs, which the driver assembles"))
                }
            case .object(let id):
                guard let found = pinnedHolder(of: id) else { continue }
                guard case .success(let location) = found else { return found.map { .worker($0, strict: true) } }
                if let earlier = holder, earlier.worker != location {
                    return .failure(
                        .pinned(
                            object: id, worker: location,
                            reason:
                                "task \"\(task.function.name)\" also takes object \(earlier.object), pinned to worker-\(earlier.worker + 1), and cannot run on both"
                        ))
                }
                holder = (id, location)
            }
        }
        guard let holder else { return nil }
        return placement(task.options.placement, on: holder.worker, for: holder.object, needs: task.options.resources) {
            "task \"\(task.function.name)\""
        }
    }

    /// The worker that holds `id`: `nil` when the object is not pinned, a refusal when it failed
    /// or its worker is no longer in service.
    func pinnedHolder(of id: ObjectID) -> Result<Int, ClusterError>? {
        guard let entry = objects[id], entry.flag.isPinned else { return nil }
        if case .failed(let error) = entry.state {
            return .failure(error as? ClusterError ?? .pinned(object: id, worker: nil, reason: "it failed: \(error)"))
        }
        guard let location = entry.location else {
            return .failure(.pinned(object: id, worker: nil, reason: "its worker is no longer in service"))
        }
        return .success(location)
    }

    /// `placement` narrowed to `worker`, which holds pinned object `object`: the same worker,
    /// strictly; a refusal when `placement` names another worker strictly (or a bundle
    /// elsewhere), or when `worker` can never offer `needs`.
    func placement(
        _ placement: Placement, on worker: Int, for object: ObjectID, needs: ResourceSet, what: () -> String
    ) -> Result<Placement, ClusterError> {
        switch placement {
        case .worker(let index, strict: true) where index != worker:
            return .failure(.pinned(object: object, worker: worker, reason: "\(what()) is placed on worker-\(index + 1)"))
        case .bundle(let group, let index):
            guard let bundle = placementGroups[group]?[safe: index], bundle.worker == worker else {
                return .failure(
                    .pinned(object: object, worker: worker, reason: "\(what()) is placed in a bundle on another worker"))
            }
            return .success(placement)
        default:
            guard workers.indices.contains(worker), workers[worker].isAlive else {
                return .failure(.pinned(object: object, worker: worker, reason: "its worker is no longer in service"))
            }
            guard needs.fits(in: workers[worker].total) else {
                return .failure(
                    .pinned(
                        object: object, worker: worker,
                        reason: "\(what()) needs \(needs) and its worker offers \(workers[worker].total)"))
            }
            return .success(.worker(worker, strict: true))
        }
    }
}

/// Why the driver may read a pinned object's payload: only to build an actor from it on the
/// worker that holds it, in process (where that worker shares the driver's memory).
enum PinnedRead {
    case actorOnHolder
}
