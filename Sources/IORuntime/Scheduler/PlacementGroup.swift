/// How a placement group's bundles are laid out over workers.
public enum PlacementStrategy: Sendable, Equatable {
    /// On as few workers as possible (fill one before the next).
    case pack
    /// All bundles on one worker, or fail.
    case strictPack
    /// On as many workers as possible.
    case spread
    /// Each bundle on a different worker, or fail.
    case strictSpread
}

/// Resources reserved together for a gang of tasks or actors (training workers, say): every
/// bundle is reserved at once or none is, and work placed in a bundle draws on that bundle's
/// reservation only.
///
/// ```swift
/// let group = try await cluster.createPlacementGroup([[.cpu: 1], [.cpu: 1]], strategy: .strictSpread)
/// let rank0 = try await cluster.spawn(Trainer.self, options: ActorOptions(resources: [.cpu: 1], placement: group.bundle(0)))
/// ```
public struct PlacementGroup: Sendable, Hashable, CustomStringConvertible {
    /// The group's identity.
    public let id: UInt64
    /// The reserved bundles.
    public let bundles: [ResourceSet]
    /// The worker holding each bundle.
    public let workers: [Int]

    /// The placement that runs work inside bundle `index`.
    public func bundle(_ index: Int) -> Placement { .bundle(group: id, index: index) }

    public var description: String { "placement group \(id): \(zip(bundles, workers).map { "\($0) on worker \($1)" })" }
}

/// A reserved bundle as the scheduler tracks it.
struct BundleSlot {
    let worker: Int
    let total: ResourceSet
    var available: ResourceSet
}

extension CoreState {
    /// Reserves every bundle or none; returns the worker of each.
    mutating func reserve(bundles: [ResourceSet], strategy: PlacementStrategy, group: UInt64) -> [Int]? {
        var free = workers.map(\.available)
        var chosen: [Int] = []
        for bundle in bundles {
            let candidates = free.indices.filter { bundle.fits(in: free[$0]) }
            let pick: Int?
            switch strategy {
            case .pack:
                pick = chosen.last.flatMap { candidates.contains($0) ? $0 : nil } ?? candidates.first
            case .strictPack:
                pick = chosen.first.map { candidates.contains($0) ? $0 : -1 } ?? candidates.first
            case .spread:
                pick = candidates.first { !chosen.contains($0) } ?? candidates.first
            case .strictSpread:
                pick = candidates.first { !chosen.contains($0) }
            }
            guard let worker = pick, worker >= 0 else { return nil }
            free[worker].subtract(bundle)
            chosen.append(worker)
        }
        for (bundle, worker) in zip(bundles, chosen) { workers[worker].available.subtract(bundle) }
        placementGroups[group] = zip(bundles, chosen).map { BundleSlot(worker: $1, total: $0, available: $0) }
        return chosen
    }

    /// Gives a group's unused reservations back to their workers; work still running in it gives
    /// its share back to the worker when it ends.
    mutating func removePlacementGroup(_ group: UInt64) {
        guard let bundles = placementGroups.removeValue(forKey: group) else { return }
        for bundle in bundles { workers[bundle.worker].available.add(bundle.available) }
    }

    /// Takes `needs` from the pool `placement` draws on, on `worker`.
    mutating func acquire(_ needs: ResourceSet, placement: Placement, worker: Int) {
        if case .bundle(let group, let index) = placement, placementGroups[group]?.indices.contains(index) == true {
            placementGroups[group]![index].available.subtract(needs)
        } else {
            workers[worker].available.subtract(needs)
        }
    }

    /// Returns `needs` to the pool `placement` draws on (the worker's, once the group is gone).
    mutating func giveBack(_ needs: ResourceSet, placement: Placement, worker: Int) {
        if case .bundle(let group, let index) = placement, placementGroups[group]?.indices.contains(index) == true {
            placementGroups[group]![index].available.add(needs)
        } else if workers.indices.contains(worker) {
            workers[worker].available.add(needs)
        }
    }
}
