import Synchronization
import Testing

@testable import IORuntime

/// Counts a monitor's callbacks.
final class MonitorProbe: Sendable {
    let sends = Atomic<Int>(0)
    let losses = Mutex<[(Int, String)]>([])

    func lost(_ index: Int, _ reason: String) { losses.withLock { $0.append((index, reason)) } }

    /// Waits until the monitor has tried to send `count` heartbeats (the time limit bounds it).
    func waitForSends(_ count: Int) async throws {
        while sends.load(ordering: .relaxed) < count { try await Task.sleep(for: .milliseconds(2)) }
    }
}

@Suite("Heartbeats", .timeLimit(.minutes(3)))
struct HeartbeatMonitorTests {
    let policy = HeartbeatPolicy(interval: .milliseconds(5), missedHeartbeats: 3, timeout: .milliseconds(30))

    @Test("a worker that answers every heartbeat is never lost")
    func answeringWorker() async throws {
        let monitor = HeartbeatMonitor(workerCount: 1, policy: policy)
        let probe = MonitorProbe()
        monitor.start { index, _ in
            probe.sends.add(1, ordering: .relaxed)
            monitor.worker(index)?.heard(at: monitor.now)  // the answer, at once
            return true
        } lose: {
            probe.lost($0, $1)
        }
        try await probe.waitForSends(40)
        monitor.stop()
        #expect(probe.losses.withLock { $0.isEmpty })
    }

    @Test("a silent worker is lost once, after the missed heartbeats were sent and the timeout passed")
    func silentWorker() async throws {
        let monitor = HeartbeatMonitor(workerCount: 2, policy: policy)
        let probe = MonitorProbe()
        let sentToSilent = Atomic<Int>(0)
        monitor.start { index, _ in
            probe.sends.add(1, ordering: .relaxed)
            if index == 0 { monitor.worker(0)?.heard(at: monitor.now) } else { sentToSilent.add(1, ordering: .relaxed) }
            return true
        } lose: {
            probe.lost($0, $1)
        }
        while probe.losses.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(2)) }
        let sentBeforeLoss = sentToSilent.load(ordering: .relaxed)
        try await probe.waitForSends(probe.sends.load(ordering: .relaxed) + 20)
        monitor.stop()
        let losses = probe.losses.withLock { $0 }
        #expect(losses.map(\.0) == [1], "only the silent worker, and only once")
        #expect(sentBeforeLoss >= 3, "it was sent the heartbeats it missed")
        #expect(losses.first?.1.contains("no answer to") == true)
        #expect(monitor.worker(1)?.isLost == true && monitor.worker(0)?.isLost == false)
    }

    /// The detector itself starved: it could not hand its heartbeats to the transport. Silence
    /// grows past the timeout, but no heartbeat went out, so nobody is blamed.
    @Test("heartbeats that could not be sent are not counted against the worker")
    func unsentHeartbeats() async throws {
        let monitor = HeartbeatMonitor(workerCount: 1, policy: policy)
        let probe = MonitorProbe()
        monitor.start { _, _ in
            probe.sends.add(1, ordering: .relaxed)
            return false
        } lose: {
            probe.lost($0, $1)
        }
        try await probe.waitForSends(40)
        monitor.stop()
        #expect(monitor.now > 30_000_000, "the silence is past the timeout")
        #expect(probe.losses.withLock { $0.isEmpty })
    }

    @Test("a policy needs a positive interval, a timeout above it and at least one miss")
    func invalidPolicies() async throws {
        for heartbeat in [
            HeartbeatPolicy(interval: .zero), HeartbeatPolicy(interval: .seconds(2), timeout: .seconds(1)),
            HeartbeatPolicy(missedHeartbeats: 0),
        ] {
            var configuration = ClusterConfiguration.inProcess(workers: 1)
            configuration.heartbeat = heartbeat
            await #expect(throws: ClusterError.self) { _ = try await Cluster.start(configuration, registry: Registry()) }
        }
    }
}
