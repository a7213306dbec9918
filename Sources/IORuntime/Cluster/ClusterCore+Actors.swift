// Actors on worker processes: restarts and the workers' answers to spawns.
extension ClusterCore {
    /// Builds a lost actor again on another worker, under the same identity.
    func restartActor(_ id: ActorIdentity, _ hosted: ActorHub.Hosted) {
        do {
            let worker = try reserveActor(hosted.resources, placement: hosted.placement, typeName: hosted.typeName)
            actorHub.relocate(id, to: worker)
            logger.info(
                "restarting actor \(id) (\(hosted.typeName)) on worker-\(worker + 1), restart \(hosted.restarts) of \(hosted.maxRestarts)")
            router.send(.spawnActor(ActorSpawn(actor: id, typeName: hosted.typeName)), toWorker: worker)
        } catch {
            let held = actorHub.giveUpRestart(id, reason: "it could not be restarted: \(error)")
            for call in held { router.answer(call, with: .actorDied(id, reason: "it could not be restarted: \(error)")) }
        }
    }

    /// A worker's answer to a spawn or restart.
    func actorSpawned(_ answer: ActorSpawned) {
        let outcome = actorHub.spawned(answer)
        for call in outcome.calls { router.send(.actorCall(call), toWorker: outcome.worker) }
        for call in outcome.failed {
            router.answer(
                call,
                with: .actorDied(answer.actor, reason: answer.error.map { "its constructor failed: \($0.message)" } ?? "restart failed"))
        }
    }
}
