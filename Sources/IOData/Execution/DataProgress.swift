import Foundation
import Synchronization

/// A one-line progress bar on standard error: rows done, rows per second, and the time left when
/// the total is known. It redraws at most ten times a second.
final class DataProgress: Sendable {
    let label: String
    let total: Int?
    private let lastDraw = Mutex<ContinuousClock.Instant?>(nil)

    init(label: String, total: Int?) {
        self.label = label
        self.total = total
    }

    func update(rows: Int, elapsed: Duration) {
        let now = ContinuousClock.now
        let due = lastDraw.withLock { last -> Bool in
            if let last, now - last < .milliseconds(100) { return false }
            last = now
            return true
        }
        if due { draw(rows: rows, elapsed: elapsed, end: "\r") }
    }

    /// Draws the final line for `rows`.
    func draw(rows: Int, elapsed: Duration, end: String) {
        let seconds = max(elapsed.seconds, 1e-9)
        let rate = Double(rows) / seconds
        var line = "\(label): \(rows)"
        if let total, total > 0 {
            let fraction = min(Double(rows) / Double(total), 1)
            let width = 24
            let filled = Int(fraction * Double(width))
            line =
                "\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                + "] \(rows)/\(total)"
            if rate > 0, rows < total { line += ", \(Int((Double(total - rows) / rate).rounded(.up))) s left" }
        }
        line += " rows, \(Int(rate.rounded())) rows/s"
        FileHandle.standardError.write(Data((line + end).utf8))
    }
}

/// A progress bar for a dataset's run, drawn on standard error: rows done and rows per second,
/// and — when the number of rows is known — a bar and the time left.
public struct DatasetProgress: Sendable {
    /// The bar's label.
    public var label: String
    /// The rows the run will deliver; `nil` takes the dataset's own count when it knows it.
    public var total: Int?

    public init(_ label: String, total: Int? = nil) {
        self.label = label
        self.total = total
    }
}

extension DatasetProgress: ExpressibleByStringLiteral {
    public init(stringLiteral label: String) { self.init(label) }
}
