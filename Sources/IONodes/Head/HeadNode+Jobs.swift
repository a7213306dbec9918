import Foundation
import IORuntime
import IOTransportTCP

/// A job's workers as the head placed them.
struct JobRecord {
    /// The driver's connection to the head: only it may start or stop the job's workers.
    let driver: PeerID
    var request: WorkerRequest
    /// The node of each worker, by peer ID.
    var placements: [UInt32: String]
    /// The GPUs (OpenCL device indices on its node) of each worker that asked for some.
    var devices: [UInt32: [Int]] = [:]
    /// What the driver last reported of its tasks, actors and objects.
    var load: JobLoad?
}

extension HeadNode {
    // MARK: Executables

    func serveExecutables(_ message: ControlMessage, to source: PeerID) {
        switch message {
        case .hasExecutable(let request, let hash):
            reply(.size(request: request, executables.size(of: hash)), to: source)
        case .writeExecutable(let request, let hash, let offset, let bytes):
            answer(request, to: source) { try executables.write(hash, offset: offset, bytes: Array(bytes)) }
        case .sealExecutable(let request, let hash, let size):
            answer(request, to: source) {
                try executables.seal(hash, size: size)
                logger.info("stored executable \(hash) (\(size) bytes)")
            }
        case .readExecutable(let request, let hash, let offset):
            do {
                let part = try executables.read(hash, offset: offset, length: ControlMessage.maximumPart)
                reply(.bytes(request: request, Data(part)), to: source)
            } catch {
                reply(.failed(request: request, reason: "\(error)"), to: source)
            }
        default: break
        }
    }

    /// Runs `body` and answers `.done`, or `.failed` with its error.
    private func answer(_ request: UInt64, to source: PeerID, _ body: () throws -> Void) {
        do {
            try body()
            reply(.done(request: request), to: source)
        } catch {
            reply(.failed(request: request, reason: "\(error)"), to: source)
        }
    }

    // MARK: Jobs

    func handleJobs(_ message: ControlMessage, from source: PeerID) {
        switch message {
        case .placeWorkers(let request, let workers):
            do {
                reply(.placed(request: request, try place(workers, driver: source)), to: source)
            } catch {
                reply(.failed(request: request, reason: "\(error)"), to: source)
            }
        case .launchWorkers(let request, let job, let peers, let attempt):
            answer(request, to: source) { try launch(job, peers: peers, attempt: attempt, driver: source) }
        case .stopJob(let job):
            guard jobs.withLock({ $0[job]?.driver }) == source else { return }
            stop(job, reason: "its driver ended it")
        case .stopWorkers(let job, let peers):
            guard let record = jobs.withLock({ $0[job] }), record.driver == source else { return }
            let nodePeers = nodes.withLock { nodes in nodes.compactMapValues(\.peer) }
            for node in Set(peers.compactMap { record.placements[$0] }) {
                guard let peer = nodePeers[node], let frame = try? ControlMessage.terminate(job: job, peers: peers).frame() else {
                    continue
                }
                try? transport.send(frame, from: .driver, to: peer)
            }
        case .jobLoad(let job, let load):
            guard load.isPlausible else {
                logger.warning("\(source) reported an impossible load for job \(job); ignored")
                return
            }
            jobs.withLock { jobs in if jobs[job]?.driver == source { jobs[job]?.load = load } }
        case .workerEnded(let job, let peer, _, let reason):
            logger.info("worker-\(peer) of job \(job) ended: \(reason)")
            // Its driver learns why (a worker that could not start fails the start at once).
            if let driver = jobs.withLock({ $0[job]?.driver }) { reply(message, to: driver) }
        default: break
        }
    }

    /// Puts each worker of `workers` on the alive node with the most CPUs left (more workers
    /// than CPUs share them) among those with the GPUs it asks for free, binds those GPUs to it,
    /// and records the job.
    private func place(_ workers: WorkerRequest, driver: PeerID) throws -> [WorkerPlacement] {
        guard NodeCredentials.isValidName(workers.job) else { throw ControlError.refused("\"\(workers.job)\" is not a job name") }
        guard !workers.peers.isEmpty, workers.peers.count <= 4096, !workers.peers.contains(0) else {
            throw ControlError.refused("a job needs 1 to 4096 workers with peer IDs above 0")
        }
        guard executables.path(of: workers.executable) != nil else {
            throw ControlError.refused("upload executable \(workers.executable) first")
        }
        let current = jobs.withLock { $0 }
        if let existing = current[workers.job], existing.driver != driver {
            throw ControlError.refused("job \(workers.job) belongs to another driver")
        }
        var used = usedResources(current)
        let alive = nodes.withLock { nodes in nodes.values.filter { $0.state == .alive && $0.peer != nil }.map(\.announcement) }
        guard !alive.isEmpty else { throw ControlError.refused("no node is alive") }
        let cpus = workers.resources["cpu"] ?? 1
        let gpus = Int((workers.resources["gpu"] ?? 0).rounded(.up))
        var placements: [UInt32: String] = current[workers.job]?.placements ?? [:]
        var devices: [UInt32: [Int]] = current[workers.job]?.devices ?? [:]
        // The GPUs every job's workers hold, by node (a re-placed worker gives its own back).
        var busy: [String: Set<Int>] = [:]
        for (name, job) in current {
            for (peer, held) in job.devices where !(name == workers.job && workers.peers.contains(peer)) {
                busy[job.placements[peer] ?? "", default: []].formUnion(held)
            }
        }
        for peer in workers.peers {
            if let old = placements[peer] { used[old, default: [:]]["cpu", default: 0] -= cpus }
            devices[peer] = nil
            let candidates = alive.filter { node in node.gpuDevices.filter { !(busy[node.name]?.contains($0) ?? false) }.count >= gpus }
            guard
                let node = candidates.max(by: { left, right in
                    let leftFree = (left.resources["cpu"] ?? 0) - (used[left.name]?["cpu"] ?? 0)
                    let rightFree = (right.resources["cpu"] ?? 0) - (used[right.name]?["cpu"] ?? 0)
                    return leftFree == rightFree ? left.name > right.name : leftFree < rightFree
                })
            else { throw ControlError.refused("no alive node has \(gpus) free GPUs for worker-\(peer)") }
            placements[peer] = node.name
            used[node.name, default: [:]]["cpu", default: 0] += cpus
            if gpus > 0 {
                let chosen = Array(node.gpuDevices.filter { !(busy[node.name]?.contains($0) ?? false) }.prefix(gpus))
                devices[peer] = chosen
                busy[node.name, default: []].formUnion(chosen)
            }
        }
        var record = current[workers.job] ?? JobRecord(driver: driver, request: workers, placements: [:])
        record.request = workers
        record.placements = placements
        record.devices = devices
        jobs.withLock { $0[workers.job] = record }
        return workers.peers.map { WorkerPlacement(peer: $0, node: placements[$0]!) }
    }

    /// Sends the launch orders of `job`'s workers `peers` (all when `nil`) to their nodes.
    private func launch(_ job: String, peers: [UInt32]?, attempt: Int, driver: PeerID) throws {
        guard let record = jobs.withLock({ $0[job] }), record.driver == driver else { throw ControlError.refused("no job \(job) of yours") }
        let nodePeers = nodes.withLock { nodes in nodes.compactMapValues(\.peer) }
        for peer in peers ?? Array(record.placements.keys) {
            guard let node = record.placements[peer] else { throw ControlError.refused("worker-\(peer) of \(job) was not placed") }
            guard let nodePeer = nodePeers[node] else { throw ControlError.refused("node \(node) is not connected") }
            let order = LaunchOrder(
                job: job, executable: record.request.executable, arguments: record.request.arguments, peer: peer,
                driverHost: record.request.driverHost, driverPort: record.request.driverPort, token: record.request.token,
                devices: record.devices[peer] ?? [], attempt: attempt, cpus: record.request.resources["cpu"] ?? 1)
            try transport.send(ControlMessage.launch(order).frame(), from: .driver, to: nodePeer)
        }
    }

    /// Tells the drivers with workers on dead node `node` which of their workers went with it, so
    /// that they recover at once rather than after their own heartbeats give up.
    func tellDrivers(nodeLost node: String) {
        let affected = jobs.withLock { jobs in
            jobs.compactMap { job, record -> (String, PeerID, [UInt32])? in
                let peers = record.placements.filter { $0.value == node }.map(\.key).sorted()
                return peers.isEmpty ? nil : (job, record.driver, peers)
            }
        }
        for (job, driver, peers) in affected { reply(.nodeLost(job: job, node: node, peers: peers), to: driver) }
    }

    /// Stops `job`'s workers on every node and forgets the job.
    func stop(_ job: String, reason: String) {
        guard let record = jobs.withLock({ $0.removeValue(forKey: job) }) else { return }
        let nodePeers = nodes.withLock { nodes in nodes.compactMapValues(\.peer) }
        for node in Set(record.placements.values) {
            guard let peer = nodePeers[node] else { continue }
            if let frame = try? ControlMessage.terminate(job: job, peers: nil).frame() {
                try? transport.send(frame, from: .driver, to: peer)
            }
        }
        logger.info("job \(job) stopped: \(reason)")
    }

    /// The resources the jobs' workers hold, by node.
    func usedResources(_ jobs: [String: JobRecord]) -> [String: [String: Double]] {
        var used: [String: [String: Double]] = [:]
        for job in jobs.values {
            for node in job.placements.values {
                for (name, amount) in job.request.resources { used[node, default: [:]][name, default: 0] += amount }
            }
        }
        return used
    }
}
