import ArgumentParser

/// The `iocompute` command line.
@main
struct IOComputeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iocompute",
        abstract: "IOCompute: distributed compute for Swift.",
        subcommands: [Demo.self],
        defaultSubcommand: Demo.self)
}
