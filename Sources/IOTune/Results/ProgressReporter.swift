import Foundation
import Synchronization

/// Shows an experiment's progress on the standard error: a live table of trials on a terminal,
/// otherwise a summary line every few seconds and one line per finished trial.
final class ProgressReporter: Sendable {
    private enum Style { case table, lines, silent }
    private let style: Style
    private let clock = ContinuousClock()
    private let state = Mutex<(last: ContinuousClock.Instant?, drawnLines: Int)>((nil, 0))

    init(options: TuneOptions) {
        switch options.progress {
        case .silent: style = .silent
        case .lines: style = .lines
        case .table: style = .table
        case .automatic: style = isatty(2) == 1 ? .table : .lines
        }
    }

    /// At most this often a table is redrawn or a line written.
    private var interval: Duration { style == .table ? .milliseconds(250) : .seconds(5) }

    /// Something changed: redraws or writes a line when the last was long enough ago.
    func update(_ records: [TrialRecord], options: TuneOptions, force: Bool = false) {
        guard style != .silent else { return }
        let now = clock.now
        let due = state.withLock { state -> Bool in
            if !force, let last = state.last, now - last < interval { return false }
            state.last = now
            return true
        }
        guard due else { return }
        if style == .table { draw(records, options: options) } else { write(summary(records, options: options) + "\n") }
    }

    /// A trial ended: a line of its own (lines) or a redraw (table).
    func trialEnded(_ record: TrialRecord, records: [TrialRecord], options: TuneOptions) {
        switch style {
        case .silent: return
        case .table: update(records, options: options, force: true)
        case .lines:
            let value = record.last(options.metric).map(ResultsTable.format) ?? "-"
            write(
                "[\(options.name)] trial \(record.trial) \(record.status.rawValue) after \(record.steps) steps: \(options.metric) \(value)"
                    + " (\(record.configuration)); " + summary(records, options: options, named: false) + "\n")
        }
    }

    /// The experiment ended: the final table, in full.
    func finish(_ records: [TrialRecord], options: TuneOptions) {
        guard style != .silent else { return }
        if style == .table { draw(records, options: options, limit: nil) } else { write(summary(records, options: options) + "\n") }
    }

    private func summary(_ records: [TrialRecord], options: TuneOptions, named: Bool = true) -> String {
        let count = { (status: TrialStatus) in records.count { $0.status == status } }
        let done = records.count { $0.status.isFinished }
        var line = (named ? "[\(options.name)] " : "") + "\(done)/\(records.count) trials done: \(count(.running)) running"
        line += ", \(count(.completed)) completed, \(count(.pruned)) stopped early, \(count(.errored)) errored"
        let best = records.compactMap { record in record.best(options.metric, options.objective).map { (record.trial, $0) } }
            .max { options.objective.reward($0.1) < options.objective.reward($1.1) }
        if let best { line += "; best \(options.metric) \(ResultsTable.format(best.1)) (trial \(best.0))" }
        return line
    }

    private func draw(_ records: [TrialRecord], options: TuneOptions, limit: Int? = 20) {
        let text =
            summary(records, options: options) + "\n"
            + ResultsTable.render(records, metric: options.metric, objective: options.objective, limit: limit) + "\n"
        let lines = text.count { $0 == "\n" }
        let erase = state.withLock { state -> String in
            defer { state.drawnLines = lines }
            return state.drawnLines > 0 ? "\u{1B}[\(state.drawnLines)F\u{1B}[J" : ""
        }
        write(erase + text)
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
