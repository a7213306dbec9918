import Foundation

/// Trials as a text table: trial, status, parameters, steps, the latest and the best value of
/// the metric.
enum ResultsTable {
    static func render(_ records: [TrialRecord], metric: String, objective: Objective, limit: Int? = nil) -> String {
        let names = Array(Set(records.flatMap { $0.configuration.values.keys })).sorted()
        var rows = [["trial", "status"] + names + ["steps", "last \(metric)", "best \(metric)"]]
        var shown = records.filter { $0.status != .pending }
        if let limit, shown.count > limit {
            // The running ones and the best finished ones.
            let running = shown.filter { $0.status == .running }
            // A trial without a value ranks last.
            let score = { (record: TrialRecord) in record.best(metric, objective).map(objective.reward) ?? -.infinity }
            let others = shown.filter { $0.status != .running }.sorted { score($0) > score($1) }
            shown = Array((running + others).prefix(limit)).sorted { $0.trial < $1.trial }
        }
        for record in shown {
            let values = names.map { record.configuration.values[$0].map(format) ?? "-" }
            rows.append(
                ["\(record.trial)", record.status.rawValue] + values
                    + ["\(record.steps)", record.last(metric).map(format) ?? "-", record.best(metric, objective).map(format) ?? "-"])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            let padded = zip(row, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
            return String(padded.reversed().drop { $0 == " " }.reversed())
        }.joined(separator: "\n")
    }

    static func format(_ value: ParameterValue) -> String {
        if case .float(let number) = value { return format(number) }
        return value.description
    }

    /// Six significant digits, as `%g` prints them.
    static func format(_ number: Double) -> String { String(format: "%.6g", number) }
}
