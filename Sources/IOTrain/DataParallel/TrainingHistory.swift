import Foundation

/// One optimizer step of a training run, as every rank agrees on it.
public struct TrainingStep: Codable, Sendable, Equatable {
    /// The step's number, from 1.
    public let step: Int
    /// The epoch it belongs to, from 0.
    public let epoch: Int
    /// The mean loss over the step's global batch (all ranks' shards).
    public let loss: Double
    /// Samples of the global batch per second of the step's wall time.
    public let samplesPerSecond: Double
    /// The number of ranks that took the step.
    public let workers: Int
}

/// The steps of a run, as data, and its loss curve as a picture.
public struct TrainingHistory: Sendable, Equatable {
    /// Every step, in order.
    public var steps: [TrainingStep]

    public init(steps: [TrainingStep]) { self.steps = steps }

    /// The loss of every step, in order.
    public var losses: [Double] { steps.map(\.loss) }

    /// The loss curve as an SVG document: loss against step, with the epochs marked and the
    /// number of workers noted where it changed (after a restart).
    public func lossCurveSVG(title: String = "training loss", width: Int = 640, height: Int = 360) -> String {
        let (left, right, top, bottom) = (64.0, 16.0, 32.0, 40.0)
        let plotWidth = Double(width) - left - right
        let plotHeight = Double(height) - top - bottom
        let losses = steps.map(\.loss).filter(\.isFinite)
        let low = min(losses.min() ?? 0, 0)
        let high = max(losses.max() ?? 1, low + 1e-12)
        let lastStep = Double(max(steps.last?.step ?? 1, 1))
        func x(_ step: Int) -> Double { left + plotWidth * Double(step) / lastStep }
        func y(_ loss: Double) -> Double { top + plotHeight * (1 - (loss - low) / (high - low)) }
        func text(_ value: Double) -> String { String(format: "%.1f", value) }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="20" text-anchor="middle" font-size="14">\(escaped(title))</text>
            <line x1="\(text(left))" y1="\(text(top + plotHeight))" x2="\(text(left + plotWidth))" y2="\(text(top + plotHeight))" stroke="black"/>
            <line x1="\(text(left))" y1="\(text(top))" x2="\(text(left))" y2="\(text(top + plotHeight))" stroke="black"/>

            """
        for tick in 0...4 {
            let value = low + (high - low) * Double(tick) / 4
            svg += "<text x=\"\(text(left - 6))\" y=\"\(text(y(value) + 4))\" text-anchor=\"end\">\(String(format: "%.3g", value))</text>\n"
        }
        svg += "<text x=\"\(text(left + plotWidth / 2))\" y=\"\(height - 8)\" text-anchor=\"middle\">step (of \(Int(lastStep)))</text>\n"
        var previous: TrainingStep?
        for step in steps {
            if let previous, step.epoch != previous.epoch {
                svg +=
                    "<line x1=\"\(text(x(step.step)))\" y1=\"\(text(top))\" x2=\"\(text(x(step.step)))\" y2=\"\(text(top + plotHeight))\" stroke=\"#ddd\"/>\n"
            }
            if step.workers != previous?.workers {
                svg += "<text x=\"\(text(x(step.step) + 3))\" y=\"\(text(top + 12))\" fill=\"#888\">\(step.workers) workers</text>\n"
            }
            previous = step
        }
        let points = steps.filter { $0.loss.isFinite }.map { "\(text(x($0.step))),\(text(y($0.loss)))" }.joined(separator: " ")
        svg += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"\(points)\"/>\n</svg>\n"
        return svg
    }

    /// Writes ``lossCurveSVG(title:width:height:)`` to `path`.
    public func writeLossCurve(to path: String, title: String = "training loss") throws {
        try Data(lossCurveSVG(title: title).utf8).write(to: URL(fileURLWithPath: path))
    }

    private func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }
}

/// A one-line progress bar on standard error: step, loss, samples per second and the time left.
/// Quiet when standard error is not a terminal (logs, CI, worker processes).
struct ProgressBar {
    let total: Int
    let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastDrawn = ContinuousClock.now - .seconds(1)
    private let started = ContinuousClock.now
    private let firstStep: Int

    init(total: Int, startingAt step: Int) {
        self.total = total
        firstStep = step
    }

    mutating func update(_ step: TrainingStep) {
        guard isTerminal else { return }
        let now = ContinuousClock.now
        guard now - lastDrawn >= .milliseconds(100) || step.step == total else { return }
        lastDrawn = now
        let elapsed = (now - started).seconds
        let done = step.step - firstStep
        let left = done > 0 ? elapsed / Double(done) * Double(total - step.step) : 0
        let width = 24
        let filled = total > 0 ? width * step.step / total : width
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let line = String(
            format: "\r[%@] step %d/%d  loss %.4f  %.0f samples/s  %.0f s left ", bar, step.step, total, step.loss, step.samplesPerSecond,
            left)
        FileHandle.standardError.write(Data(line.utf8))
        if step.step == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
