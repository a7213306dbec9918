import Dispatch
import Synchronization

/// Fires task timeouts; see `InProcessWorker.run`.
private let timeoutQueue = DispatchQueue(label: "iocompute.task-timeouts")

/// A worker of the in-process cluster: runs the tasks assigned to it as Swift tasks on the shared
/// thread pool, enforces their timeouts, and reports each outcome once.
final class InProcessWorker: Sendable {
    let index: Int
    private struct Configuration {
        var registry = Registry()
        var actorSystem: ClusterActorSystem?
        var report: @Sendable (RuntimeMessage) -> Void = { _ in }
        /// Turns the assigned inputs into payloads (a worker process pulls large objects here).
        var resolve: @Sendable ([TaskInput]) async throws -> [Payload] = { inputs in
            try inputs.map { input in
                guard let payload = input.inlinePayload else { throw ClusterError.invalidConfiguration("an object reference in process") }
                return payload
            }
        }
    }
    private let configuration = Mutex(Configuration())
    private let jobs = Mutex<[UInt64: Task<Void, Never>]>([:])

    /// Tasks queued behind others (`TaskAssignment.after`).
    private struct Queue {
        /// Tasks assigned here whose outcome is not reported yet, running or queued: the tasks
        /// another may still be queued behind.
        var unreported: Set<UInt64> = []
        /// The task queued behind each task.
        var successors: [UInt64: TaskAssignment] = [:]
        /// Queued tasks cancelled before they started: reported as cancelled in their turn.
        var cancelled: Set<UInt64> = []
    }
    private let queue = Mutex(Queue())

    init(index: Int) { self.index = index }

    func configure(registry: Registry, actorSystem: ClusterActorSystem?, report: @escaping @Sendable (RuntimeMessage) -> Void) {
        configuration.withLock {
            $0.registry = registry
            $0.actorSystem = actorSystem
            $0.report = report
        }
    }

    func configure(resolve: @escaping @Sendable ([TaskInput]) async throws -> [Payload]) {
        configuration.withLock { $0.resolve = resolve }
    }

    func handle(_ message: RuntimeMessage) {
        switch message {
        case .execute(let assignment): accept(assignment)
        case .cancel(let taskID):
            let queued = queue.withLock { queue in
                guard queue.successors.values.contains(where: { $0.taskID == taskID }) else { return false }
                queue.cancelled.insert(taskID)
                return true
            }
            if !queued { jobs.withLock { $0[taskID] }?.cancel() }
        default: break
        }
    }

    /// Starts an assigned task, or queues it behind the task it names when that one has not been
    /// reported yet. (When it has, the driver learns so from that report and counts this one as
    /// started, as it now is.)
    private func accept(_ assignment: TaskAssignment) {
        let startsNow = queue.withLock { queue in
            queue.unreported.insert(assignment.taskID)
            guard let after = assignment.after, queue.unreported.contains(after), queue.successors[after] == nil else { return true }
            queue.successors[after] = assignment
            return false
        }
        if startsNow { run(assignment) }
    }

    /// Called once `taskID`'s outcome is reported: starts the task queued behind it, or reports
    /// it cancelled and moves on when it was cancelled while it waited.
    private func reported(_ taskID: UInt64) {
        var finished = taskID
        while true {
            let next = queue.withLock { queue -> (TaskAssignment, cancelled: Bool)? in
                queue.unreported.remove(finished)
                guard let next = queue.successors.removeValue(forKey: finished) else { return nil }
                return (next, queue.cancelled.remove(next.taskID) != nil)
            }
            guard let (assignment, cancelled) = next else { return }
            guard cancelled else {
                run(assignment)
                return
            }
            let report = configuration.withLock { $0.report }
            report(.completed(TaskCompletion(taskID: assignment.taskID, attempt: assignment.attempt, worker: index, outcome: .cancelled)))
            finished = assignment.taskID
        }
    }

    private func run(_ assignment: TaskAssignment) {
        let (registry, report, actorSystem, resolve) = configuration.withLock { ($0.registry, $0.report, $0.actorSystem, $0.resolve) }
        let worker = index
        // Exactly one outcome is reported: the job's, or the timeout's, whichever comes first.
        let reported = Atomic<Bool>(false)
        let finish: @Sendable (TaskOutcome) -> Bool = { outcome in
            guard !reported.exchange(true, ordering: .acquiringAndReleasing) else { return false }
            report(.completed(TaskCompletion(taskID: assignment.taskID, attempt: assignment.attempt, worker: worker, outcome: outcome)))
            self.reported(assignment.taskID)
            return true
        }
        let function: ErasedFunction
        do {
            function = try registry.lookup(assignment.functionName, signature: assignment.signature)
        } catch {
            _ = finish(.thrown(TaskError(taskName: assignment.functionName, thrown: error)))
            return
        }
        let done = Atomic<Bool>(false)
        let job = Task { [self] in
            let outcome: TaskOutcome
            do {
                let result = try await TaskContext.$worker.withValue(worker) {
                    try await TaskContext.$taskName.withValue(assignment.functionName) {
                        try await ClusterActorSystem.$current.withValue(actorSystem) {
                            try await function.invoke(try await resolve(assignment.arguments))
                        }
                    }
                }
                outcome = .success(.value(result))
            } catch {
                outcome =
                    error is CancellationError || Task.isCancelled
                    ? .cancelled : .thrown(TaskError(taskName: assignment.functionName, thrown: error))
            }
            _ = finish(outcome)
            self.jobs.withLock { jobs in
                done.store(true, ordering: .releasing)
                jobs[assignment.taskID] = nil
            }
        }
        jobs.withLock { jobs in
            if !done.load(ordering: .acquiring) { jobs[assignment.taskID] = job }
        }
        if let timeout = assignment.timeout {
            // A timer on a private serial queue rather than a Swift task or a global queue: tasks
            // that compute without suspending can occupy every thread of Swift's cooperative pool
            // and of the width-limited global queues, and the timeout must still fire. A serial
            // queue gets a thread of its own.
            let components = timeout.components
            let nanoseconds = max(0, components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000)
            timeoutQueue.asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: nanoseconds))) {
                if finish(.timedOut) { job.cancel() }
            }
        }
    }

    func cancelAll() {
        queue.withLock { queue in queue.cancelled.formUnion(queue.successors.values.map(\.taskID)) }
        for job in jobs.withLock({ Array($0.values) }) { job.cancel() }
    }

    /// Waits for running jobs to end, giving up at `deadline` or when the caller is cancelled.
    func waitForJobs(until deadline: ContinuousClock.Instant) async {
        while !jobs.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }
}
