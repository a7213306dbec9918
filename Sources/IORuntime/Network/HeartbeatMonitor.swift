import Dispatch
import Synchronization

/// Watches the worker processes of a cluster: sends each a heartbeat every
/// ``HeartbeatPolicy/interval`` and declares one lost only on evidence about the worker.
///
/// The monitor runs on a timer of its own dispatch queue, which is not the Swift cooperative
/// pool: a pool kept busy by tasks cannot make it late. Even so, lateness cannot blame a worker:
/// a worker is lost only once it has left ``HeartbeatPolicy/missedHeartbeats`` heartbeats in a
/// row unanswered — heartbeats this monitor actually handed to the transport — *and* nothing at
/// all (an answer, a result, any frame) has come from it for ``HeartbeatPolicy/timeout``. A
/// detector that wakes late has sent fewer heartbeats, so it waits longer; it never counts a
/// heartbeat it did not send. Any frame from the worker counts as an answer: a worker busy
/// streaming a large object is alive.
final class HeartbeatMonitor: Sendable {
    private let policy: HeartbeatPolicy
    private let workers: [WorkerHealth]
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private let queue = DispatchQueue(label: "iocompute.heartbeat")
    private let timer: TimerSource
    private let sequence = Atomic<UInt64>(0)

    /// A monitor of `workerCount` workers, each counted as heard from now.
    init(workerCount: Int, policy: HeartbeatPolicy) {
        self.policy = policy
        workers = (0..<workerCount).map { _ in WorkerHealth() }
        started = clock.now
        timer = TimerSource(DispatchSource.makeTimerSource(queue: queue))
        for worker in workers { worker.heard(at: 0) }
    }

    /// Nanoseconds since the monitor was made.
    var now: Int64 { Self.nanoseconds(clock.now - started) }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let parts = duration.components
        return parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }

    /// The health record of worker `index`, if there is one.
    func worker(_ index: Int) -> WorkerHealth? { workers[safe: index] }

    /// Starts the timer. Each tick calls `send(index, sequence)` for every live worker (it returns
    /// whether the heartbeat was handed to the transport) and `lose(index, reason)` for a worker
    /// that the policy finds lost (once per worker until it is revived).
    func start(send: @escaping @Sendable (Int, UInt64) -> Bool, lose: @escaping @Sendable (Int, String) -> Void) {
        let source = timer.source
        let interval = Self.nanoseconds(policy.interval)
        source.schedule(deadline: .now() + .nanoseconds(Int(interval)), repeating: .nanoseconds(Int(interval)), leeway: .milliseconds(10))
        source.setEventHandler { [weak self] in self?.tick(send: send, lose: lose) }
        if timer.state.exchange(1, ordering: .acquiringAndReleasing) == 0 { source.resume() }
    }

    /// Stops the timer; no callback runs after this returns.
    func stop() {
        timer.cancel()
        queue.sync {}
    }

    deinit { timer.cancel() }

    private func tick(send: (Int, UInt64) -> Bool, lose: (Int, String) -> Void) {
        let sequence = sequence.add(1, ordering: .relaxed).newValue
        let now = now
        let timeout = Self.nanoseconds(policy.timeout)
        for (index, worker) in workers.enumerated() where !worker.isLost {
            let silence = now - worker.lastHeard
            let unanswered = worker.unanswered
            if unanswered >= policy.missedHeartbeats && silence > timeout {
                if worker.markLost() {
                    lose(index, "no answer to \(unanswered) heartbeats in a row, nothing heard for \(Double(silence / 1_000_000) / 1000) s")
                }
            } else if send(index, sequence) {
                worker.sent()
            }
        }
    }
}

/// The monitor's timer. Dispatch objects may be used from any thread (libdispatch's own
/// guarantee), which is what makes this box safe to share; `state` makes `resume` and `cancel`
/// happen once each and in that order (0 made, 1 running, 2 stopped).
private final class TimerSource: @unchecked Sendable {
    let source: any DispatchSourceTimer
    let state = Atomic<Int>(0)

    init(_ source: any DispatchSourceTimer) { self.source = source }

    /// Cancels the timer once; a timer never started is started cancelled, since libdispatch
    /// does not allow releasing an inactive source.
    func cancel() {
        switch state.exchange(2, ordering: .acquiringAndReleasing) {
        case 0:
            source.cancel()
            source.resume()
        case 1:
            source.cancel()
        default:
            break
        }
    }
}

/// What the driver knows of one worker process's liveness.
final class WorkerHealth: Sendable {
    private let lastHeardNanoseconds = Atomic<Int64>(0)
    private let unansweredHeartbeats = Atomic<Int>(0)
    private let lost = Atomic<Bool>(false)

    /// When anything last came from the worker (nanoseconds on the monitor's clock).
    var lastHeard: Int64 { lastHeardNanoseconds.load(ordering: .relaxed) }
    /// Heartbeats sent since anything came from the worker.
    var unanswered: Int { unansweredHeartbeats.load(ordering: .relaxed) }
    var isLost: Bool { lost.load(ordering: .relaxed) }

    /// Something came from the worker: it is alive.
    func heard(at nanoseconds: Int64) {
        lastHeardNanoseconds.store(nanoseconds, ordering: .relaxed)
        unansweredHeartbeats.store(0, ordering: .relaxed)
    }

    /// A heartbeat went to the worker.
    func sent() { unansweredHeartbeats.add(1, ordering: .relaxed) }

    /// Marks the worker lost; true only for the first caller.
    func markLost() -> Bool { !lost.exchange(true, ordering: .acquiringAndReleasing) }

    /// A new process took the lost worker's place: it counts as heard from now.
    func revive(at nanoseconds: Int64) {
        heard(at: nanoseconds)
        lost.store(false, ordering: .releasing)
    }
}
