import Foundation

/// What an experiment found: every trial's record, the best one, its checkpoint, and exports as
/// a table, CSV and JSON.
public struct TuneResults: Sendable {
    /// Every trial, by number.
    public let trials: [TrialRecord]
    public let metric: String
    public let objective: Objective
    /// The experiment's directory, when it has one.
    public let directory: String?
    private let memoryCheckpoints: [Int: TrialCheckpoint]

    init(trials: [TrialRecord], options: TuneOptions, memoryCheckpoints: [Int: TrialCheckpoint]) {
        self.trials = trials
        metric = options.metric
        objective = options.objective
        directory = options.directory
        self.memoryCheckpoints = memoryCheckpoints
    }

    /// How a trial's value is read when trials are ranked.
    public enum Scope: Sendable {
        /// The last value it reported (Ray Tune's default): a trial is as good as where it ended.
        case last
        /// The best value it ever reported.
        case best
    }

    /// The best trial by its `scope` value of the metric, among those that reported it.
    public func best(scope: Scope = .last) -> TrialRecord? {
        trials.compactMap { record -> (TrialRecord, Double)? in
            let value = scope == .last ? record.last(metric) : record.best(metric, objective)
            guard let value, !value.isNaN else { return nil }
            return (record, value)
        }.max { a, b in
            let (x, y) = (objective.reward(a.1), objective.reward(b.1))
            return x == y ? a.0.trial > b.0.trial : x < y
        }?.0
    }

    /// The best trial by its last value.
    public var best: TrialRecord? { best(scope: .last) }

    /// The best trial's latest checkpoint (nil when it saved none).
    ///
    /// - Throws: the file system's error when the checkpoint's folder cannot be read.
    public func bestCheckpoint(scope: Scope = .last) throws -> TrialCheckpoint? {
        guard let best = best(scope: scope) else { return nil }
        if let folder = best.latestCheckpoint { return try TrialCheckpointStore.load(folder) }
        return memoryCheckpoints[best.trial]
    }

    /// The trials as a text table (trial, status, parameters, steps, last and best value).
    public var table: String { ResultsTable.render(trials, metric: metric, objective: objective) }

    /// The trials as CSV: one row per trial with its status, parameters, steps, failures, the last
    /// and best value of the metric, and the last value of every other metric reported.
    public func csv() -> String {
        let parameters = Array(Set(trials.flatMap { $0.configuration.values.keys })).sorted()
        let metrics = Array(Set(trials.flatMap { $0.reports.last?.metrics.keys.map { $0 } ?? [] })).sorted()
        var lines = [
            (["trial", "status"] + parameters + ["steps", "failures", "best_\(metric)"] + metrics).map(Self.field).joined(separator: ",")
        ]
        for record in trials {
            var row = ["\(record.trial)", record.status.rawValue]
            row += parameters.map { record.configuration.values[$0]?.description ?? "" }
            row += ["\(record.steps)", "\(record.failures)", record.best(metric, objective).map { "\($0)" } ?? ""]
            row += metrics.map { name in record.reports.last?.metrics[name].map { "\($0)" } ?? "" }
            lines.append(row.map(Self.field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The trials as JSON: an array of records with every report.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(trials)
    }

    /// A CSV field, quoted when it must be.
    private static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
