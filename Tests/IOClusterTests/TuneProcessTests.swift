import ClusterTestSupport
import Foundation
import IORuntime
import IOTune
import Testing

@Suite("experiments on worker processes", .timeLimit(.minutes(4)))
struct TuneProcessTests {
    @Test("a driver killed with SIGKILL mid-experiment resumes to the final table of a run never interrupted")
    func resumeAfterKill() async throws {
        let root = NSTemporaryDirectory() + "iotune-resume-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (whole, interrupted) = (root + "/whole", root + "/interrupted")

        let reference = try await ClusterProcess.run(["tune", whole])
        #expect(reference.status == 0, "\(reference.output)")
        let expected = try #require(Self.table(in: reference.output), "\(reference.output)")

        // The same experiment, killed with SIGKILL once four trials have ended.
        let killed = try await ClusterProcess.run(["tune", interrupted, "die-after", "4"])
        #expect(killed.status == SIGKILL && !killed.output.contains("TABLE"), "\(killed.output)")
        let ended = (0..<12).count { trial in
            ((try? Self.lines(interrupted, trial: trial)) ?? []).contains { $0.contains("\"kind\":\"ended\"") }
        }
        #expect(ended >= 4 && ended < 12)

        let resumed = try await ClusterProcess.run(["tune", interrupted, "resume"])
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(Self.table(in: resumed.output) == expected, "\(resumed.output)")
        // Trials that had ended were not run again.
        #expect(try Self.lines(interrupted, trial: 0).filter { $0.contains("\"kind\":\"started\"") }.count == 1)
    }

    @Test("a worker killed mid-trial: the trial starts again from its checkpoint on the worker left", .timeLimit(.minutes(2)))
    func workerKilledMidTrial() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        let directory = NSTemporaryDirectory() + "iotune-kill-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tuner = Tuner(
            cluster: cluster, trainable: TuneFixtures.waitsOnce,
            options: TuneOptions(
                metric: "attempt", objective: .maximize, trials: 1, resourcesPerTrial: [.cpu: 0.5], maxFailures: 1, directory: directory,
                progress: .silent))
        let run = Task { try await tuner.run() }
        // Step 1 is reported from the worker that then waits: it is killed.
        let reported = await ClusterProcess.eventually {
            ((try? Self.lines(directory, trial: 0)) ?? []).contains { $0.contains("\"pid\"") }
        }
        #expect(reported)
        let line = try #require(try Self.lines(directory, trial: 0).first { $0.contains("\"pid\"") })
        let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let pid = try #require((event?["metrics"] as? [String: Any])?["pid"] as? Double)
        kill(pid_t(pid), SIGKILL)

        let results = try await run.value
        let record = results.trials[0]
        #expect(record.status == .completed && record.failures == 1)
        #expect(record.reports.map(\.step) == [1, 2, 3, 4])
        #expect(record.reports.map { $0.metrics["attempt"]! } == [1, 2, 2, 2])
        #expect(record.reports.dropFirst().allSatisfy { $0.metrics["pid"]! != pid })
        await cluster.shutdown()
    }

    /// The table a `tune` run printed.
    static func table(in output: String) -> String? {
        guard let start = output.range(of: "TABLE\n"), let end = output.range(of: "\nEND", range: start.upperBound..<output.endIndex) else {
            return nil
        }
        return String(output[start.upperBound..<end.lowerBound])
    }

    static func lines(_ directory: String, trial: Int) throws -> [String] {
        try String(contentsOfFile: directory + "/trial-" + String(format: "%05d", trial) + "/events.jsonl", encoding: .utf8)
            .split(separator: "\n").map(String.init)
    }
}
