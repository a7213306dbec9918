import ClusterTestSupport
import Foundation
import Testing

/// Runs the built `iocompute` executable as a user would.
@Suite("iocompute command line", .timeLimit(.minutes(5)))
struct DemoCommandTests {
    /// The `iocompute` binary in the build folder that holds this test runner.
    static var executable: URL {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [runner.deletingLastPathComponent(), Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("iocompute") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// Runs `program` (the built `iocompute` by default) to its end, waiting off the cooperative
    /// pool (see ``onOwnThread(_:)``).
    static func run(_ arguments: [String], program: URL = executable) async throws -> (status: Int32, output: String) {
        try await Program.run(program, arguments)
    }

    @Test("the demo fits the breast-cancer data set above 90% held-out accuracy and runs its task graphs")
    func demo() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.executable.path), "build iocompute first (swift build)")
        let (status, output) = try await Self.run(["demo"])
        #expect(status == 0, "\(output)")
        let summary = try #require(output.split(separator: "\n").last(where: { $0.hasPrefix("summary:") }))
        let percentages = summary.split(separator: " ").compactMap { word -> Double? in
            word.hasSuffix("%") || word.hasSuffix("%,") ? Double(word.trimmingCharacters(in: CharacterSet(charactersIn: "%,"))) : nil
        }
        #expect(percentages.count == 2)
        #expect(percentages.allSatisfy { $0 > 90 }, "\(summary)")
        // The task-graph part ran every task without a failure.
        // The IONN part trained the digits MLP well above chance.
        let digits = try #require(output.split(separator: "\n").last(where: { $0.hasPrefix("digits:") }))
        let digitsAccuracy = digits.split(separator: " ").first { $0.hasSuffix("%") }.flatMap { Double($0.dropLast()) }
        #expect((digitsAccuracy ?? 0) > 90, "\(digits)")
        // The IOTrain part trained it data-parallel on two workers to the same accuracy.
        let parallel = try #require(output.split(separator: "\n").last(where: { $0.hasPrefix("data parallel:") }))
        let parallelAccuracies = parallel.split(separator: " ").compactMap { word in
            word.hasSuffix("%") || word.hasSuffix("%),") ? Double(word.trimmingCharacters(in: CharacterSet(charactersIn: "%),"))) : nil
        }
        #expect(parallelAccuracies.count == 2 && parallelAccuracies.allSatisfy { $0 > 90 }, "\(parallel)")
        #expect(Set(parallelAccuracies).count == 1, "\(parallel)")
        // The IOTune part found a configuration well above chance and stopped some trials early.
        let tune = try #require(output.split(separator: "\n").last(where: { $0.hasPrefix("hyperparameter search:") }))
        let tuneAccuracy = tune.split(separator: " ").first { $0.hasSuffix("%") }.flatMap { Double($0.dropLast()) }
        #expect((tuneAccuracy ?? 0) > 90, "\(tune)")
        #expect(!tune.contains(" 0 of 10 trials stopped"), "\(tune)")
        let graph = try #require(output.split(separator: "\n").last(where: { $0.hasPrefix("task graph:") }))
        #expect(graph.contains(" 0 failed"), "\(graph)")
        #expect(graph.contains("20066 tasks finished"), "\(graph)")
    }

    @Test("a missing data file is a clear error and a non-zero exit, not a crash")
    func missingData() async throws {
        let (status, output) = try await Self.run(["demo", "--data", "/nonexistent/breast_cancer.csv"])
        #expect(status != 0)
        #expect(output.contains("no file at /nonexistent/breast_cancer.csv"), "\(output)")
    }
}
