import Foundation

/// What one training iteration did.
public struct IterationRecord: Sendable, Equatable, Codable {
    public var iteration: Int
    /// Environment steps taken so far, all runners together.
    public var environmentSteps: Int
    /// Episodes finished so far.
    public var episodes: Int
    /// The mean return of the last 100 finished episodes (`nil` before the first one ends).
    public var meanReturn: Double?
    /// Environment steps per second of this iteration's sampling, all runners together.
    public var samplingStepsPerSecond: Double
    /// Seconds since training started.
    public var seconds: Double
    /// The learner's update.
    public var update: UpdateStatistics
}

/// Every iteration of a training run, with its learning curve as SVG (mean return against
/// environment steps).
public struct LearningHistory: Sendable, Equatable, Codable {
    public var iterations: [IterationRecord] = []

    public init(iterations: [IterationRecord] = []) { self.iterations = iterations }

    /// The last iteration's mean return.
    public var finalMeanReturn: Double? { iterations.last?.meanReturn }

    /// The learning curve as a standalone SVG document.
    public func learningCurveSVG(title: String = "mean return", width: Int = 640, height: Int = 360) -> String {
        let points = iterations.compactMap { record in record.meanReturn.map { (Double(record.environmentSteps), $0) } }
        let margin = 48.0
        let (plotWidth, plotHeight) = (Double(width) - 2 * margin, Double(height) - 2 * margin)
        let maxSteps = max(points.map(\.0).max() ?? 1, 1)
        let lowest = min(points.map(\.1).min() ?? 0, 0)
        let highest = max(points.map(\.1).max() ?? 1, lowest + 1)
        func x(_ steps: Double) -> Double { margin + steps / maxSteps * plotWidth }
        func y(_ value: Double) -> Double { margin + (1 - (value - lowest) / (highest - lowest)) * plotHeight }
        let path = points.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ")
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="24" text-anchor="middle" font-size="14">\(title)</text>
            <line x1="\(margin)" y1="\(margin + plotHeight)" x2="\(margin + plotWidth)" y2="\(margin + plotHeight)" stroke="black"/>
            <line x1="\(margin)" y1="\(margin)" x2="\(margin)" y2="\(margin + plotHeight)" stroke="black"/>
            <text x="\(margin)" y="\(height - 16)">0</text>
            <text x="\(margin + plotWidth)" y="\(height - 16)" text-anchor="end">\(Int(maxSteps)) env steps</text>
            <text x="\(margin - 6)" y="\(y(highest) + 4)" text-anchor="end">\(String(format: "%.0f", highest))</text>
            <text x="\(margin - 6)" y="\(y(lowest) + 4)" text-anchor="end">\(String(format: "%.0f", lowest))</text>
            <polyline fill="none" stroke="#1f77b4" stroke-width="2" points="\(path)"/>
            </svg>

            """
    }

    /// Writes ``learningCurveSVG(title:width:height:)`` to `path`.
    public func writeLearningCurve(to path: String, title: String = "mean return") throws {
        try learningCurveSVG(title: title).write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Prints one line per iteration to standard error: steps, episodes, mean return and speed, with
/// a bar towards the step budget when there is one.
public struct LearningProgress: Sendable {
    /// The step budget the bar fills towards (`nil`: no bar).
    public var totalSteps: Int?

    public init(totalSteps: Int? = nil) { self.totalSteps = totalSteps }

    /// The line for `record`.
    public func line(_ record: IterationRecord) -> String {
        var bar = ""
        if let totalSteps, totalSteps > 0 {
            let filled = min(20, record.environmentSteps * 20 / totalSteps)
            bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled) + "] "
        }
        let mean = record.meanReturn.map { String(format: "%8.1f", $0) } ?? "       –"
        return String(
            format: "%@iteration %4d  steps %8d  episodes %6d  mean return %@  %8.0f steps/s  %6.1f s", bar, record.iteration,
            record.environmentSteps, record.episodes, mean, record.samplingStepsPerSecond, record.seconds)
    }

    /// Prints the line for `record` to standard error.
    public func report(_ record: IterationRecord) {
        FileHandle.standardError.write(Data((line(record) + "\n").utf8))
    }
}

/// What every trainer counts as it goes: steps, finished episodes, the last 100 returns, and the
/// history of iterations.
struct TrainingTally {
    var environmentSteps = 0
    var episodes = 0
    var recentReturns: [Double] = []
    var history = LearningHistory()

    /// Counts the steps and finished episodes of `rollouts` and returns how many steps they held.
    mutating func add(_ rollouts: [Rollout]) -> Int {
        var steps = 0
        for rollout in rollouts {
            steps += rollout.count
            episodes += rollout.episodes.count
            recentReturns += rollout.episodes.map(\.totalReward)
        }
        environmentSteps += steps
        recentReturns = Array(recentReturns.suffix(100))
        return steps
    }

    /// Records an iteration that sampled `steps` steps in `samplingSeconds` and applied `update`,
    /// reports it to `progress`, and returns it.
    @discardableResult
    mutating func record(
        steps: Int, samplingSeconds: Double, since start: ContinuousClock.Instant, update: UpdateStatistics, progress: LearningProgress?
    ) -> IterationRecord {
        let record = IterationRecord(
            iteration: history.iterations.count + 1, environmentSteps: environmentSteps, episodes: episodes,
            meanReturn: recentReturns.isEmpty ? nil : recentReturns.reduce(0, +) / Double(recentReturns.count),
            samplingStepsPerSecond: Double(steps) / max(samplingSeconds, 1e-9), seconds: (ContinuousClock.now - start).seconds,
            update: update)
        history.iterations.append(record)
        progress?.report(record)
        return record
    }
}
