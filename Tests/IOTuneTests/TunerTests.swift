import Foundation
import IORuntime
import Testing

@testable import IOTune

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite("experiments on a cluster", .timeLimit(.minutes(2)))
struct TunerTests {
    typealias F = TunerFixtures

    /// An in-process cluster whose messages go through the wire codec, as between processes.
    static func cluster(workers: Int = 2) async throws -> Cluster {
        try await Cluster.start(.inProcess(workers: workers, routesThroughCodec: true), registry: F.registry)
    }

    @Test("trials run on the cluster with declared and define-by-run values; their reports give the best trial")
    func quadratic() async throws {
        let cluster = try await Self.cluster()
        let options = TuneOptions(metric: "loss", objective: .minimize, trials: 12, resourcesPerTrial: [.cpu: 0.5], progress: .silent)
        let tuner = Tuner(
            cluster: cluster, trainable: F.quadratic, space: ["x": .uniform(-5, 5)], searcher: RandomSearcher(seed: 3), options: options)
        let results = try await tuner.run()
        #expect(results.trials.count == 12)
        for record in results.trials {
            #expect(record.status == .completed && record.steps == 10 && record.failures == 0)
            let x = try record.configuration.float("x")
            let y = try record.configuration.float("y")
            #expect((-5...5).contains(x) && (-3...3).contains(y))
            #expect(record.reports.map(\.step) == Array(1...10))
            #expect(record.reports.map { $0.metrics["loss"]! } == (1...10).map { F.loss(x: x, y: y, step: $0) })
        }
        // The same values as the searcher draws for each trial, asked for in the same order.
        let searcher = RandomSearcher(seed: 3)
        for record in results.trials {
            #expect(record.configuration.values["x"] == searcher.suggest("x", .uniform(-5, 5), trial: record.trial))
            #expect(record.configuration.values["y"] == searcher.suggest("y", .uniform(-3, 3), trial: record.trial))
        }
        let finals = results.trials.map { $0.last("loss")! }
        #expect(results.best?.last("loss") == finals.min())
        #expect(results.table.split(separator: "\n").count == 13)
        let csv = results.csv().split(separator: "\n")
        #expect(csv.count == 13 && csv[0] == "trial,status,x,y,steps,failures,best_loss,loss,x")
        let decoded = try JSONDecoder().decode([TrialRecord].self, from: try results.json())
        #expect(decoded == results.trials)
        // The plots: a curve per trial, a line per trial shown in parallel coordinates, as valid XML.
        let curves = results.curvesSVG(title: "loss <per> step")
        #expect(curves.components(separatedBy: "<polyline").count - 1 == 12)
        #expect(curves.contains("loss &lt;per&gt; step") && Self.isWellFormedXML(curves))
        let parallel = results.parallelCoordinatesSVG(count: 5)
        #expect(parallel.components(separatedBy: "<polyline").count - 1 == 5 && Self.isWellFormedXML(parallel))
        #expect(parallel.contains("trial \(results.best!.trial): loss"))
        await cluster.shutdown()
    }

    static func isWellFormedXML(_ text: String) -> Bool {
        XMLParser(data: Data(text.utf8)).parse()
    }

    @Test("ASHA stops on the cluster exactly the trials its rule stops, one trial at a time")
    func asha() async throws {
        let cluster = try await Self.cluster()
        let levels: [Double] = [5, 1, 7, 3, 8, 2, 6, 4, 9, 0.5]
        let space: SearchSpace = ["level": .grid(levels.map { .float($0) })]
        let options = TuneOptions(metric: "score", objective: .maximize, trials: levels.count, maxConcurrentTrials: 1, progress: .silent)
        let scheduler = try ASHAScheduler(objective: .maximize, maxSteps: 8, reductionFactor: 2)
        let results = try await Tuner(
            cluster: cluster, trainable: F.flat, space: space, searcher: try GridSearcher(space: space), scheduler: scheduler,
            options: options
        ).run()
        // The same reports, one trial after another, straight to a scheduler of the same settings.
        var reference = try ASHAScheduler(objective: .maximize, maxSteps: 8, reductionFactor: 2)
        for record in results.trials {
            let level = try record.configuration.float("level")
            var expected = (steps: 8, status: TrialStatus.completed)
            for step in 1...8 {
                let decision = reference.report(trial: record.trial, step: step, value: level)
                if decision == .stop { expected = (step, .pruned) }
                if decision != .continue { break }
            }
            #expect(record.steps == expected.steps && record.status == expected.status, "trial \(record.trial) at level \(level)")
        }
        #expect(results.trials.map { try! $0.configuration.float("level") } == levels)
        #expect(results.trials.contains { $0.status == .pruned } && results.trials.contains { $0.status == .completed })
        await cluster.shutdown()
    }

    @Test("synchronous HyperBand on the cluster pauses trials at milestones, resumes the best from their checkpoints, stops the rest")
    func hyperBand() async throws {
        let cluster = try await Self.cluster()
        let levels: [Double] = [5, 1, 7, 3, 8, 2, 6, 4, 9]
        let space: SearchSpace = ["level": .grid(levels.map { .float($0) })]
        let options = TuneOptions(metric: "score", objective: .maximize, trials: 9, resourcesPerTrial: [.cpu: 0.5], progress: .silent)
        let scheduler = try HyperBandScheduler(objective: .maximize, maxSteps: 9, reductionFactor: 3)
        let results = try await Tuner(
            cluster: cluster, trainable: F.flat, space: space, searcher: try GridSearcher(space: space), scheduler: scheduler,
            options: options
        ).run()
        // One bracket of 9 from step 1: the best 3 (9, 8, 7) reach step 3, the best (9) step 9.
        let steps = Dictionary(uniqueKeysWithValues: results.trials.map { (try! $0.configuration.float("level"), $0.steps) })
        #expect(steps == [9: 9, 8: 3, 7: 3, 6: 1, 5: 1, 4: 1, 3: 1, 2: 1, 1: 1])
        #expect(results.trials.filter { $0.status == .completed }.map { try! $0.configuration.float("level") } == [9])
        // Paused and resumed from their checkpoints: each step reported once.
        #expect(results.trials.allSatisfy { $0.reports.map(\.step) == Array(1...$0.steps) })
        await cluster.shutdown()
    }

    @Test("a trial that throws starts again from its latest checkpoint; past maxFailures it ends errored")
    func retries() async throws {
        let cluster = try await Self.cluster()
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let space: SearchSpace = ["failures": .grid([0, 1, 2])]
        let options = TuneOptions(
            metric: "step", objective: .maximize, trials: 3, maxFailures: 1, directory: directory, progress: .silent)
        let results = try await Tuner(
            cluster: cluster, trainable: F.flaky, space: space, searcher: try GridSearcher(space: space), options: options
        )
        .run()
        let (never, once, twice) = (results.trials[0], results.trials[1], results.trials[2])
        #expect(never.status == .completed && never.failures == 0 && never.reports.map(\.step) == Array(1...6))
        // Failed at step 3, started again from the checkpoint of step 2: no step twice.
        #expect(once.status == .completed && once.failures == 1 && once.reports.map(\.step) == Array(1...6))
        #expect(once.reports.map { $0.metrics["attempt"]! } == [1, 1, 2, 2, 2, 2])
        #expect(twice.status == .errored && twice.failures == 2 && twice.error?.contains("failed on attempt 2") == true)
        #expect(twice.reports.map(\.step) == [1, 2])
        await cluster.shutdown()
    }

    @Test("resuming with restartErrored starts errored trials again from their latest checkpoints")
    func restartErrored() async throws {
        let cluster = try await Self.cluster()
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let space: SearchSpace = ["failures": .grid([1])]
        let options = TuneOptions(metric: "step", objective: .maximize, trials: 1, directory: directory, progress: .silent)
        let tuner = Tuner(cluster: cluster, trainable: F.flaky, space: space, searcher: try GridSearcher(space: space), options: options)
        let first = try await tuner.run()
        #expect(first.trials[0].status == .errored && first.trials[0].reports.map(\.step) == [1, 2])
        // Resumed without restartErrored: nothing to do.
        #expect(try await tuner.resume().trials == first.trials)
        let second = try await tuner.resume(restartErrored: true)
        #expect(second.trials[0].status == .completed && second.trials[0].reports.map(\.step) == Array(1...6))
        #expect(second.trials[0].reports.map { $0.metrics["attempt"]! } == [1, 1, 2, 2, 2, 2])
        await cluster.shutdown()
    }

    @Test("PBT's exploit starts the trial from the better trial's checkpoint with explored values")
    func pbtExploit() async throws {
        let cluster = try await Self.cluster()
        let space: SearchSpace = ["lr": .uniform(0, 1)]
        let scheduler = try PBTScheduler(objective: .maximize, perturbationInterval: 3, mutations: space, seed: 5)
        let options = TuneOptions(metric: "sum", objective: .maximize, trials: 4, resourcesPerTrial: [.cpu: 0.5], progress: .silent)
        let results = try await Tuner(
            cluster: cluster, trainable: F.accumulate, space: space, searcher: RandomSearcher(seed: 9), scheduler: scheduler,
            options: options
        ).run()
        // Each first report after an exploit names the trial whose checkpoint it restored, and
        // that checkpoint's sum carries on.
        var exploits = 0
        for record in results.trials {
            for (index, report) in record.reports.enumerated() where index > 0 {
                let from = report.metrics["restoredFrom"]!
                guard from >= 0, Int(from) != record.trial else { continue }
                exploits += 1
                #expect(results.trials.indices.contains(Int(from)))
            }
            #expect(record.status == .completed)
        }
        #expect(exploits > 0)
        await cluster.shutdown()
    }

    @Test("mistakes are typed errors: options, a taken or empty directory, another experiment, trials that fit nowhere")
    func errors() async throws {
        let cluster = try await Self.cluster(workers: 1)
        let space: SearchSpace = ["x": .uniform(-5, 5)]
        func tuner(_ options: TuneOptions, space: SearchSpace = space) -> Tuner {
            Tuner(cluster: cluster, trainable: F.quadratic, space: space, options: options)
        }
        await #expect(throws: TuneError.invalidOptions("trials is 0; an experiment runs at least one")) {
            try await tuner(TuneOptions(metric: "loss", objective: .minimize, trials: 0)).run()
        }
        await #expect(throws: TuneError.trialsDoNotFit(resources: "[gpu: 1.0]")) {
            try await tuner(TuneOptions(metric: "loss", objective: .minimize, resourcesPerTrial: [.gpu: 1])).run()
        }
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        await #expect(throws: TuneError.unreadableExperiment(directory: directory, reason: "there is no experiment.json")) {
            try await tuner(TuneOptions(metric: "loss", objective: .minimize, directory: directory)).resume()
        }
        let options = TuneOptions(metric: "loss", objective: .minimize, trials: 2, directory: directory, progress: .silent)
        _ = try await tuner(options).run()
        await #expect(throws: TuneError.experimentExists(directory: directory)) { try await tuner(options).run() }
        await #expect(throws: TuneError.experimentMismatch(directory: directory, reason: "its search space is not this tuner's")) {
            try await tuner(options, space: ["x": .uniform(-4, 4)]).resume()
        }
        // A trial that reads a parameter the space does not have fails with the name in its error.
        let results = try await tuner(TuneOptions(metric: "loss", objective: .minimize, trials: 1, progress: .silent), space: [:]).run()
        #expect(results.trials[0].status == .errored)
        #expect(results.trials[0].error?.contains("no parameter \"x\" in the search space") == true)
        await cluster.shutdown()
    }

    @Test("an experiment's directory keeps a log per trial and its best checkpoints; resuming a finished one changes nothing")
    func directory() async throws {
        let cluster = try await Self.cluster()
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let space: SearchSpace = ["lr": .uniform(0, 1)]
        let options = TuneOptions(
            metric: "sum", objective: .maximize, trials: 3, checkpointsToKeep: 1, directory: directory, progress: .silent)
        let tuner = Tuner(cluster: cluster, trainable: F.accumulate, space: space, searcher: RandomSearcher(seed: 2), options: options)
        let results = try await tuner.run()
        let manager = FileManager.default
        #expect(manager.fileExists(atPath: directory + "/experiment.json"))
        for trial in 0..<3 {
            let folder = directory + "/trial-0000\(trial)"
            let lines = try String(contentsOfFile: folder + "/events.jsonl", encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 1 + 12 + 1)  // started, 12 reports, ended
            // The latest (step 12) is also the best: only it is kept.
            #expect(try manager.contentsOfDirectory(atPath: folder + "/checkpoints") == ["step-00000012"])
            let progress =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: folder + "/checkpoints/step-00000012/progress.json"))) as? [String: Any]
            #expect(progress?["step"] as? Int == 12)
        }
        let best = try #require(try results.bestCheckpoint())
        let state = best["state"]!.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        #expect(state[0] == results.best?.last("sum"))
        let resumed = try await tuner.resume()
        #expect(resumed.trials == results.trials && resumed.table == results.table)
        await cluster.shutdown()
    }
}
