// Actors on worker processes: restarts and the workers' answers to spawns.
extension ClusterCore {
    /// Builds a lost actor again on another worker, under the same identity.
    func restartActor(_ id: ActorIdentity, _ hosted: ActorHub.Hosted) {
        guard let arguments = hosted.arguments else {
            restartActor(id, hosted, input: nil)
            return
        }
        // The object it is built from may itself be rebuilt (it lived on the lost worker).
        Task {
            do {
                restartActor(id, hosted, input: try await spawnInput(arguments))
            } catch {
                giveUpRestart(id, error)
            }
        }
    }

    private func restartActor(_ id: ActorIdentity, _ hosted: ActorHub.Hosted, input: TaskInput?) {
        do {
            let worker = try reserveActor(hosted.resources, placement: hosted.placement, typeName: hosted.typeName)
            actorHub.relocate(id, to: worker)
            logger.info(
                "restarting actor \(id) (\(hosted.typeName)) on worker-\(worker + 1), restart \(hosted.restarts) of \(hosted.maxRestarts)")
            let spawn = ActorSpawn(actor: id, typeName: hosted.typeName, maxConcurrency: hosted.maxConcurrency, arguments: input)
            router.send(.spawnActor(spawn), toWorker: worker)
        } catch {
            giveUpRestart(id, error)
        }
    }

    private func giveUpRestart(_ id: ActorIdentity, _ error: any Error) {
        let held = actorHub.giveUpRestart(id, reason: "it could not be restarted: \(error)")
        for call in held { router.answer(call, with: .actorDied(id, reason: "it could not be restarted: \(error)")) }
    }

    /// How a worker process receives an actor's arguments: inline, or — for an object, once it
    /// is ready — as a reference it pulls.
    func spawnInput(_ arguments: SpawnArguments) async throws -> TaskInput {
        switch arguments {
        case .value(let payload): return .inline(payload)
        case .object(let id, _):
            while true {
                do {
                    _ = try await waitForSeal(id)  // read back from disk if it was spilled
                } catch is ObjectSealedElsewhere {
                    // Ready on the worker that made it: the actor's worker pulls it from there.
                }
                let input = state.withLock { state in state.needsRestoreToStart(id) ? nil : state.input(id) }
                // Spilled again since it was read back: read it back once more.
                if let input { return try input.get() }
            }
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
