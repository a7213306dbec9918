import DequeModule
import Synchronization

/// One task attempt on the timeline.
struct TimelineEvent: Sendable {
    let name: String
    let taskID: UInt64
    let worker: Int
    let start: ContinuousClock.Instant
    let end: ContinuousClock.Instant
    let succeeded: Bool
}

/// The most recent task events, exportable in the Chrome trace format (`chrome://tracing`,
/// Perfetto).
final class Timeline: Sendable {
    private let events: Mutex<Deque<TimelineEvent>>
    private let capacity: Int
    private let origin = ContinuousClock.now

    init(capacity: Int) {
        self.capacity = capacity
        events = Mutex(Deque())
    }

    func record(_ event: TimelineEvent) {
        guard capacity > 0 else { return }
        events.withLock { events in
            if events.count == capacity { events.removeFirst() }
            events.append(event)
        }
    }

    var count: Int { events.withLock { $0.count } }

    /// The events as Chrome trace JSON: one complete ("X") event per task attempt, one track per
    /// worker, times in microseconds since the cluster started.
    func chromeTraceJSON() -> String {
        let snapshot = events.withLock { Array($0) }
        func microseconds(_ instant: ContinuousClock.Instant) -> Int64 {
            let elapsed = (instant - origin).components
            return elapsed.seconds * 1_000_000 + elapsed.attoseconds / 1_000_000_000_000
        }
        var lines: [String] = []
        lines.reserveCapacity(snapshot.count)
        for event in snapshot {
            let start = microseconds(event.start)
            let duration = max(microseconds(event.end) - start, 0)
            lines.append(
                #"{"name":\#(jsonString(event.name)),"cat":"task","ph":"X","ts":\#(start),"dur":\#(duration),"pid":0,"tid":\#(event.worker),"args":{"task":\#(event.taskID),"ok":\#(event.succeeded)}}"#
            )
        }
        return "{\"traceEvents\":[\n" + lines.joined(separator: ",\n") + "\n],\"displayTimeUnit\":\"ms\"}\n"
    }
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
