import ArgumentParser
import Foundation
import IOCompute

/// `iocompute status`: the nodes of a cluster as its head sees them.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the cluster's nodes (alive, dead or left) and their resources.")

    @OptionGroup var cluster: ClusterOptions

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() async throws {
        configureLogging(fallback: .warning)
        let (head, credentials) = try cluster.resolve()
        let snapshot = try await ClusterClient.status(of: head, credentials: credentials)
        if json {
            try printJSON(snapshot)
        } else {
            print(StatusTable(snapshot).text)
        }
    }
}

/// A snapshot as a table for people.
struct StatusTable {
    let snapshot: ClusterSnapshot

    init(_ snapshot: ClusterSnapshot) { self.snapshot = snapshot }

    var text: String {
        let alive = snapshot.nodes.filter { $0.state == .alive }
        let cpus = alive.reduce(0) { $0 + ($1.announcement.resources["cpu"] ?? 0) }
        let memory = alive.reduce(0) { $0 + ($1.announcement.resources["memory"] ?? 0) }
        let gpus = alive.reduce(0) { $0 + ($1.announcement.resources["gpu"] ?? 0) }
        var rows = [["NODE", "STATE", "HOST", "CPU", "USED", "MEMORY", "GPU", "WORKERS", "LABELS", "SILENT", "NOTE"]]
        for node in snapshot.nodes {
            let resources = node.announcement.resources
            rows.append([
                node.announcement.name, node.state.rawValue, node.announcement.host.isEmpty ? "-" : node.announcement.host,
                Self.amount(resources["cpu"]), Self.amount(node.used["cpu"] ?? 0), Self.bytes(resources["memory"]),
                Self.amount(resources["gpu"]),
                String(node.workers),
                node.announcement.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                String(format: "%.1fs", node.silentFor), node.reason ?? "",
            ])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        let table = rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return """
            cluster at \(snapshot.head), up \(Int(snapshot.uptime)) s: \(alive.count) of \(snapshot.nodes.count) nodes alive, \
            \(Self.amount(cpus)) CPUs, \(Self.bytes(memory)) memory, \(Self.amount(gpus)) GPUs
            \(table.joined(separator: "\n"))\(jobs)
            """
    }

    /// The jobs with workers: where they run, then what their drivers last reported.
    private var jobs: String {
        guard !snapshot.jobs.isEmpty else { return "" }
        let lines = snapshot.jobs.sorted { $0.key < $1.key }.map { job, workers in
            let perNode = Dictionary(grouping: workers, by: \.node).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.count)" }
            var lines = ["  \(job): \(workers.count) workers (\(perNode.joined(separator: ", ")))"]
            if let load = snapshot.loads[job] {
                let restarting = load.actorsRestarting > 0 ? ", \(load.actorsRestarting) restarting" : ""
                lines.append(
                    "    tasks: \(load.tasksRunning) running, \(load.tasksWaiting) waiting, \(load.tasksFinished) finished, "
                        + "\(load.tasksFailed) failed; actors: \(load.actorsAlive) alive\(restarting)")
                lines.append(
                    "    objects: \(load.objects), \(Self.size(load.objectBytesInMemory)) in memory of "
                        + "\(Self.size(load.objectStoreCapacity)), \(Self.size(load.objectBytesSpilled)) spilled")
            }
            return lines.joined(separator: "\n")
        }
        return "\njobs with workers:\n" + lines.joined(separator: "\n")
    }

    /// `bytes` in the largest binary unit that keeps it at 1 or more.
    static func size(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    static func amount(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }

    static func bytes(_ value: Double?) -> String {
        guard let value, value > 0 else { return "-" }
        return String(format: "%.1f GiB", value / Double(1 << 30))
    }
}
