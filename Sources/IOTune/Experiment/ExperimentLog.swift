import Foundation

/// An experiment's directory: `experiment.json`, and per trial `trial-NNNNN/events.jsonl` and
/// `trial-NNNNN/checkpoints/`.
///
/// Each event is one line appended with one `write`, before the experiment acts on it, so a driver
/// killed at any moment loses no event it acted on; a line cut short by the kill is skipped when
/// the log is read.
final class ExperimentLog: @unchecked Sendable {
    let directory: String
    private var descriptors: [Int: Int32] = [:]
    private let lock = NSLock()

    init(directory: String) { self.directory = directory }

    deinit { for descriptor in descriptors.values { close(descriptor) } }

    var headerPath: String { directory + "/experiment.json" }

    func trialDirectory(_ trial: Int) -> String { directory + String(format: "/trial-%05d", trial) }

    /// Writes the header of a new experiment.
    ///
    /// - Throws: ``TuneError/experimentExists(directory:)`` when the directory holds one.
    func create(_ header: ExperimentHeader) throws {
        guard !FileManager.default.fileExists(atPath: headerPath) else { throw TuneError.experimentExists(directory: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(header).write(to: URL(fileURLWithPath: headerPath), options: .atomic)
    }

    /// The header of the experiment in the directory.
    func header() throws -> ExperimentHeader {
        guard let data = FileManager.default.contents(atPath: headerPath) else {
            throw TuneError.unreadableExperiment(directory: directory, reason: "there is no experiment.json")
        }
        do {
            return try JSONDecoder().decode(ExperimentHeader.self, from: data)
        } catch {
            throw TuneError.unreadableExperiment(directory: directory, reason: "experiment.json: \(error)")
        }
    }

    /// Appends `event` to its trial's log.
    func append(_ event: ExperimentEvent) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = [UInt8](try encoder.encode(event))
        line.append(UInt8(ascii: "\n"))
        lock.lock()
        defer { lock.unlock() }
        let descriptor = try descriptor(for: event.trial)
        var offset = 0
        while offset < line.count {
            let written = line[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: trialDirectory(event.trial) + "/events.jsonl"])
            }
            offset += written
        }
        // A trial that ended writes no more: its file is closed, so that an experiment of many
        // trials holds a descriptor per running trial only.
        if event.kind == .ended, let descriptor = descriptors.removeValue(forKey: event.trial) { close(descriptor) }
    }

    private func descriptor(for trial: Int) throws -> Int32 {
        if let descriptor = descriptors[trial] { return descriptor }
        let folder = trialDirectory(trial)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let descriptor = open(folder + "/events.jsonl", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: folder + "/events.jsonl"]) }
        descriptors[trial] = descriptor
        return descriptor
    }

    /// Every event of every trial, in the order they happened. A line that does not parse (the
    /// last one of a log, cut short by a kill) is skipped.
    func events() throws -> [ExperimentEvent] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var events: [ExperimentEvent] = []
        let decoder = JSONDecoder()
        for name in names where name.hasPrefix("trial-") {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name + "/events.jsonl") else { continue }
            for line in data.split(separator: UInt8(ascii: "\n")) {
                if let event = try? decoder.decode(ExperimentEvent.self, from: Data(line)) { events.append(event) }
            }
        }
        return events.sorted { $0.sequence < $1.sequence }
    }

    /// The checkpoint store of trial `trial`.
    func checkpoints(of trial: Int, keep: Int?, metric: String, objective: Objective) -> TrialCheckpointStore {
        TrialCheckpointStore(directory: trialDirectory(trial) + "/checkpoints", keep: keep, metric: metric, objective: objective)
    }
}
