import CompareSupport
// The IOCompute half of `compare tune`: the controller's cost per trial and per report against
// Ray Tune, and TPE's cost per trial against Optuna, on the in-process cluster, printed as
// `NAME VALUE UNIT` lines with VALUE a throughput. `Peers/tune_ray.py` runs the same searches.
//
// - empty_trials: 1,000 trials that report once, random search, FIFO, one CPU each (as many at
//   once as there are cores), kept in a directory as Ray Tune keeps its trials.
// - asha_reports: 50 trials of 20 reports each under ASHA (max 20, grace 1, rf 4), in a directory.
// - tpe_trials: 200 trials of a two-parameter quadratic asked for define-by-run, TPE with
//   Optuna's defaults, one trial at a time, in memory (as Optuna's default storage).
import Foundation
import IOCompute

/// The trainables, as statics rather than top-level variables of `main.swift` (which belong to
/// the main actor).
enum Trainables {
    static let empty = Trainable("empty") { trial in try await trial.report(["score": try trial.float("x")]) }
    static let curve = Trainable("curve") { trial in
        let x = try trial.float("x")
        while trial.step < 20 { try await trial.report(["score": x * Double(trial.step + 1)]) }
    }
    static let quadratic = Trainable("quadratic") { trial in
        let x = try await trial.float("x", .uniform(-5, 5))
        let y = try await trial.float("y", .uniform(-5, 5))
        try await trial.report(["loss": (x - 2) * (x - 2) + (y + 1) * (y + 1)])
    }
}

let cores = ProcessInfo.processInfo.activeProcessorCount
let cluster = try await Cluster.start(
    .inProcess(workers: cores), registry: Registry().trainable(Trainables.empty).trainable(Trainables.curve).trainable(Trainables.quadratic)
)

for caller in callers() {
    let suffix = rowSuffix(caller)
    if caller == "main" {
        try await runWorkloads(suffix: suffix)
    } else {
        try await Task.detached { try await runWorkloads(suffix: suffix) }.value
    }
}
await cluster.shutdown()

/// Runs on the caller's executor: the main actor's when top-level code calls it.
nonisolated(nonsending) func runWorkloads(suffix: String) async throws {
    if suffix == rowSuffix("main") { MainActor.preconditionIsolated("the @main rows run on the main actor") }
    let root = NSTemporaryDirectory() + "iocompute-bench-tune-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: root) }
    var runs = 0
    func directory() -> String {
        runs += 1
        return root + "/\(runs)"
    }
    let space: SearchSpace = ["x": .uniform(0, 1)]

    if wanted("empty_trials") {
        let seconds = try await bestSeconds(rounds: 2) {
            let options = TuneOptions(metric: "score", objective: .maximize, trials: 1_000, directory: directory(), progress: .silent)
            let results = try await Tuner(cluster: cluster, trainable: Trainables.empty, space: space, options: options).run()
            precondition(results.trials.allSatisfy { $0.status == .completed })
        }
        report("empty_trials" + suffix, 1_000 / seconds, "trials/s")
    }
    if wanted("asha_reports") {
        var reports = 0
        let seconds = try await bestSeconds(rounds: 2) {
            let options = TuneOptions(metric: "score", objective: .maximize, trials: 50, directory: directory(), progress: .silent)
            let results = try await Tuner(
                cluster: cluster, trainable: Trainables.curve, space: space,
                scheduler: try ASHAScheduler(objective: .maximize, maxSteps: 20, gracePeriod: 1, reductionFactor: 4), options: options
            ).run()
            reports = results.trials.reduce(0) { $0 + $1.reports.count }
        }
        report("asha_reports" + suffix, Double(reports) / seconds, "reports/s")
    }
    if wanted("tpe_trials") {
        let seconds = try await bestSeconds(rounds: 2) {
            let options = TuneOptions(metric: "loss", objective: .minimize, trials: 200, maxConcurrentTrials: 1, progress: .silent)
            _ = try await Tuner(cluster: cluster, trainable: Trainables.quadratic, searcher: TPESearcher(seed: 1), options: options).run()
        }
        report("tpe_trials" + suffix, 200 / seconds, "trials/s")
    }
}
