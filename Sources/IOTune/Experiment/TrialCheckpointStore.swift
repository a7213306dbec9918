import Foundation

/// A trial's checkpoints in its folder, in IOTrain's `CheckpointStore` layout: one folder
/// `step-NNNNNNNN` per checkpoint with the checkpoint's files and a `progress.json` (`step`,
/// `metrics`, `history`), written to a temporary folder and renamed into place, so a checkpoint
/// either is complete or is not there; pruned to the latest plus the best `keep` by the metric.
struct TrialCheckpointStore: Sendable {
    let directory: String
    /// How many checkpoints to keep besides the latest, by `metric`; nil keeps all.
    let keep: Int?
    let metric: String
    let objective: Objective

    private struct Progress: Codable {
        var step: Int
        var metrics: [String: Double]
        var history: [String] = []
    }

    /// Saves `checkpoint` as the one taken at `step` and prunes; returns its folder.
    func save(_ checkpoint: TrialCheckpoint, step: Int, metrics: [String: Double]) throws -> String {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let final = folder(of: step)
        let temporary = directory + "/.incomplete-" + UUID().uuidString
        try manager.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        do {
            for (name, bytes) in checkpoint.files {
                guard Self.isPlainName(name) else { throw CocoaError(.fileWriteInvalidFileName, userInfo: [NSFilePathErrorKey: name]) }
                try Data(bytes).write(to: URL(fileURLWithPath: temporary + "/" + name))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(Progress(step: step, metrics: metrics)).write(to: URL(fileURLWithPath: temporary + "/progress.json"))
            if manager.fileExists(atPath: final) { discard(final) }
            guard rename(temporary, final) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: final]) }
        } catch {
            try? manager.removeItem(atPath: temporary)
            throw error
        }
        try prune()
        return final
    }

    /// The checkpoint in `folder` (its files, without `progress.json`).
    static func load(_ folder: String) throws -> TrialCheckpoint {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0 != "progress.json" }
        var files: [String: [UInt8]] = [:]
        for name in names {
            guard let data = FileManager.default.contents(atPath: folder + "/" + name) else {
                throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: folder + "/" + name])
            }
            files[name] = [UInt8](data)
        }
        return TrialCheckpoint(files: files)
    }

    /// A file name that stays inside the checkpoint's folder.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && name != "." && name != ".." && name != "progress.json" && !name.contains("\0")
    }

    /// Deletes every checkpoint but the latest and the best `keep`.
    private func prune() throws {
        guard let keep else { return }
        let all = try checkpoints()
        guard let latest = all.last else { return }
        let scored = all.filter { $0.metrics[metric]?.isNaN == false }.sorted { a, b in
            let (x, y) = (objective.reward(a.metrics[metric]!), objective.reward(b.metrics[metric]!))
            return x == y ? a.step > b.step : x > y
        }
        let kept = Set(scored.prefix(keep).map(\.step)).union([latest.step])
        for checkpoint in all where !kept.contains(checkpoint.step) { discard(folder(of: checkpoint.step)) }
    }

    /// Every complete checkpoint, oldest first.
    private func checkpoints() throws -> [Progress] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return try names.filter { $0.hasPrefix("step-") }.compactMap { name -> Progress? in
            guard let data = FileManager.default.contents(atPath: directory + "/" + name + "/progress.json") else { return nil }
            return try JSONDecoder().decode(Progress.self, from: data)
        }.sorted { $0.step < $1.step }
    }

    private func folder(of step: Int) -> String { directory + String(format: "/step-%08d", step) }

    private func discard(_ folder: String) {
        let trash = directory + "/.discarded-" + UUID().uuidString
        guard rename(folder, trash) == 0 else { return }
        try? FileManager.default.removeItem(atPath: trash)
    }
}
