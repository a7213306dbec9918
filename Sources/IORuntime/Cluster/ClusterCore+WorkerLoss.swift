import Synchronization

// Losing worker processes and taking replacements back into service.
extension ClusterCore {
    // MARK: Losing workers (multi-process)

    /// Recovers from the loss of a worker process: retries or fails its tasks, restarts or kills
    /// its actors, and answers the calls it leaves unanswered.
    func workerLost(_ worker: Int, reason: String) {
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            state.loseWorker(worker, reason: reason, effects: &effects, nextTaskID: ids.nextSequence)
            return effects
        }
        puller.peerLost(PeerID(UInt32(worker + 1)))
        segments.peerLost(PeerID(UInt32(worker + 1)))
        perform(effects)
        let loss = actorHub.workerLost(worker, reason: reason)
        for (id, continuation) in loss.spawns {
            continuation.resume(
                throwing: ActorError.actorDied(id, reason: "worker-\(worker + 1) was lost (\(reason)) while the actor was being built"))
        }
        for (call, error) in loss.interrupted { router.answer(call, with: error) }
        for (id, hosted) in loss.restart { restartActor(id, hosted) }
    }

    /// Takes a replaced worker back into service, with all its resources free, and starts the
    /// tasks that were waiting for room.
    func workerReturned(_ worker: Int) {
        let effects = state.withLock { state -> Effects in
            var effects = Effects()
            guard state.workers.indices.contains(worker), !state.workers[worker].isAlive else { return effects }
            state.workers[worker].isAlive = true
            state.workers[worker].available = state.workers[worker].total
            state.workers[worker].running = 0
            state.schedule(effects: &effects)
            return effects
        }
        perform(effects)
    }
}
