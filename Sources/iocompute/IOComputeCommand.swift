import ArgumentParser
import Foundation
import Logging

/// The `iocompute` command line.
@main
struct IOComputeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iocompute",
        abstract: "IOCompute: distributed compute for Swift.",
        subcommands: [Demo.self, Start.self, Submit.self, Jobs.self, Logs.self, Status.self, Stop.self, Credentials.self],
        defaultSubcommand: Demo.self)
}

/// Sets the level of the library's log lines on standard error: `IOCOMPUTE_LOG_LEVEL` (trace,
/// debug, info, notice, warning, error, critical), else `fallback`. Once per process.
func configureLogging(fallback: Logger.Level) {
    let named = ProcessInfo.processInfo.environment["IOCOMPUTE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
    let level = named ?? fallback
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
