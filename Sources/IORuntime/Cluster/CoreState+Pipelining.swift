import DequeModule

/// A task running on a worker and the tasks queued behind it there, in order. The first holds
/// the resources; when its outcome is reported the worker starts the next at once, without a round
/// trip to the driver, and the driver moves the resources to it on its books. Worker and driver
/// agree on the order because each queued assignment names the task it waits for
/// (`TaskAssignment.after`) and a worker reports a task before it starts the next.
struct TaskChain {
    /// The resources and placement every task of the chain needs.
    let key: ReadyQueueKey
    /// Running first, then queued.
    var tasks: Deque<UInt64>
}

// Pipelining: short tasks queued on busy workers behind tasks with the same needs.
extension CoreState {
    /// A worker and one of its chains to queue `task` behind, when pipelining is on, the task's
    /// function is known to be short, and a chain with the same needs has room; the shortest
    /// such chain wins.
    func chooseChain(for task: TaskRecord, key: ReadyQueueKey) -> (worker: Int, chain: Int)? {
        guard pipelineDepth > 0, let mean = meanDurations[task.function.name], mean < pipelinedTaskLimit else { return nil }
        var best: (worker: Int, chain: Int, length: Int)?
        for worker in workers.indices where workers[worker].isAlive {
            for (index, chain) in workers[worker].chains.enumerated() where chain.key == key && chain.tasks.count <= pipelineDepth {
                if best == nil || chain.tasks.count < best!.length { best = (worker, index, chain.tasks.count) }
            }
        }
        return best.map { ($0.worker, $0.chain) }
    }

    /// Ends `taskID`'s place at the head of its chain on `worker`. The next task of the chain,
    /// which the worker has just started, becomes running here with the resources `taskID` held;
    /// returns false when none was queued (the resources are then free).
    mutating func startSuccessor(of taskID: UInt64, on worker: Int, at now: ContinuousClock.Instant) -> Bool {
        guard let index = workers[worker].chains.firstIndex(where: { $0.tasks.first == taskID }) else { return false }
        workers[worker].chains[index].tasks.removeFirst()
        guard let next = workers[worker].chains[index].tasks.first else {
            workers[worker].chains.remove(at: index)
            return false
        }
        workers[worker].running += 1
        running += 1
        if let position = tasks.index(forKey: next) {
            tasks.values[position].phase = .running(worker: worker)
            tasks.values[position].startedAt = now
        }
        return true
    }

    /// Folds one finished task's running time into its function's mean.
    mutating func recordDuration(of function: String, seconds: Double) {
        guard pipelineDepth > 0 else { return }
        if let mean = meanDurations[function] {
            meanDurations[function] = mean * 0.8 + seconds * 0.2
        } else {
            meanDurations[function] = seconds
        }
    }
}

extension Duration {
    /// This duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
