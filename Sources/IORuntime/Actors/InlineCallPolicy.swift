import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Decides which actor calls a worker process runs on its connection's delivery thread (see
/// ``Transport/deliveryExecutor(for:)``) instead of the shared pool.
///
/// A call that runs on the delivery thread saves two thread wake-ups: one to start it and one to
/// send its reply. But while it runs, that thread reads and writes nothing else (heartbeats
/// included), so only methods that have proved short run there. A method's first calls run on
/// the pool and are timed. Once it has averaged under ``inlineLimit`` over ``warmUpCalls`` calls,
/// later calls run inline, and they are still timed. A single inline call that takes longer than
/// ``evictionLimit`` sends the method back to the pool for good.
///
/// The environment variable `IOCOMPUTE_INLINE_CALL_LIMIT_US`, read once per worker process, sets
/// ``inlineLimit`` in microseconds (0 keeps every call on the pool): a debug build's calls take
/// longer than a release build's, and a machine's threads may wake faster or slower.
final class InlineCallPolicy: Sendable {
    /// The mean duration under which a method runs inline.
    static let inlineLimit: Duration = {
        if let text = getenv("IOCOMPUTE_INLINE_CALL_LIMIT_US"), let microseconds = Int(String(cString: text)), microseconds >= 0 {
            return .microseconds(microseconds)
        }
        return .microseconds(100)
    }()
    /// One inline call longer than this sends its method back to the pool.
    static let evictionLimit: Duration = .milliseconds(10)
    /// Calls timed on the pool before a method may run inline.
    static let warmUpCalls = 16

    private struct Timing {
        var calls = 0
        /// A moving mean of the duration, in seconds.
        var mean = 0.0
        var evicted = false
    }

    private let timings = Mutex<[String: Timing]>([:])

    /// Whether the next call to `target` runs on the delivery thread.
    func runsInline(_ target: String) -> Bool {
        timings.withLock { timings in
            guard let timing = timings[target], !timing.evicted, timing.calls >= Self.warmUpCalls else { return false }
            return timing.mean < Self.inlineLimit.seconds
        }
    }

    /// Records that a call to `target` took `duration`, on the delivery thread if `inline`.
    func record(_ target: String, took duration: Duration, inline: Bool) {
        let seconds = duration.seconds
        timings.withLock { timings in
            var timing = timings[target] ?? Timing()
            timing.calls += 1
            // The plain mean while warming up, then a moving mean that follows changes.
            let weight = 1 / Double(min(timing.calls, Self.warmUpCalls))
            timing.mean += (seconds - timing.mean) * weight
            if inline && duration > Self.evictionLimit { timing.evicted = true }
            timings[target] = timing
        }
    }
}
