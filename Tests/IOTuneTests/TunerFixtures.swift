import Foundation
import IORuntime

@testable import IOTune

/// Trainables whose results are known in closed form, for the tuner's tests.
enum TunerFixtures {
    /// (x - 2)² + (y + 1)² / step: x from the declared space, y asked for define-by-run; the
    /// value falls over ten steps towards (x - 2)² + …, so the last report decides.
    static let quadratic = Trainable("quadratic") { trial in
        let x = try trial.float("x")
        let y = try await trial.float("y", .uniform(-3, 3))
        for step in 1...10 {
            try await trial.report(["loss": loss(x: x, y: y, step: step), "x": x])
        }
    }

    static func loss(x: Double, y: Double, step: Int) -> Double { (x - 2) * (x - 2) + (y + 1) * (y + 1) / Double(step) }

    /// A flat curve at `level` for up to 9 steps, with an (empty) checkpoint at each, so a paused
    /// trial goes on where it stopped: schedulers' decisions depend on levels only.
    static let flat = Trainable("flat") { trial in
        let level = try trial.float("level")
        while trial.step < 9 { try await trial.report(["score": level], checkpoint: TrialCheckpoint([])) }
    }

    /// Counts its steps in a checkpoint; throws at step 3 on its first `failures` attempts
    /// (attempts counted in a checkpoint file) and always when `broken`.
    static let flaky = Trainable("flaky") { trial in
        let failures = try trial.int("failures")
        let attempt = (trial.checkpoint?["attempts"].map { Int($0[0]) } ?? 0) + 1
        for step in (trial.step + 1)...6 {
            let checkpoint = TrialCheckpoint(files: ["attempts": [UInt8(attempt)], "step": [UInt8(step)]])
            if step == 3, attempt <= failures { throw FlakyFailure(attempt: attempt) }
            try await trial.report(["step": Double(step), "attempt": Double(attempt)], checkpoint: checkpoint)
        }
    }

    struct FlakyFailure: Error, CustomStringConvertible {
        let attempt: Int
        var description: String { "failed on attempt \(attempt)" }
    }

    /// PBT's subject: the state is the sum of the learning rates so far, carried in the checkpoint
    /// with the trial that wrote it last; the metric is that sum, so a high rate is better.
    static let accumulate = Trainable("accumulate") { trial in
        let rate = try trial.float("lr")
        var sum = 0.0
        var writer = -1.0
        if let checkpoint = trial.checkpoint, let bytes = checkpoint["state"] {
            let values = bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
            (sum, writer) = (values[0], values[1])
        }
        for _ in trial.step..<12 {
            let restoredFrom = writer
            sum += rate
            writer = Double(trial.trial)
            let state = [sum, writer].withUnsafeBytes { [UInt8]($0) }
            try await trial.report(["sum": sum, "restoredFrom": restoredFrom], checkpoint: TrialCheckpoint(files: ["state": state]))
        }
    }

    static let registry = Registry().trainable(quadratic).trainable(flat).trainable(flaky).trainable(accumulate)

    /// A fresh temporary directory.
    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "iotune-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
