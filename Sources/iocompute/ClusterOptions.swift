import ArgumentParser
import Foundation
import IOCompute

/// How a command reaches a running cluster: the head's address, and the certificate and token
/// of this machine's state folder.
struct ClusterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The head's address (default: the head started from the state folder).", valueName: "HOST:PORT"))
    var address: String?

    @Option(help: "The state folder whose certificate and token to use (default: $IOCOMPUTE_HOME, else ~/.iocompute).")
    var stateDir: String?

    @Option(help: "Read the cluster token from this file instead (mode 0600).")
    var tokenFile: String?

    var state: StateDirectory { StateDirectory(path: stateDir) }

    /// The head's address and this machine's credentials.
    func resolve() throws -> (head: NodeAddress, credentials: ClusterCredentials) {
        guard let text = address ?? state.headAddress else {
            throw ValidationError("pass --address HOST:PORT (no head was started from \(state.path))")
        }
        return (try NodeAddress(parsing: text), ClusterCredentials(node: try state.credentials(), token: try state.token(file: tokenFile)))
    }
}

/// Prints `value` as sorted, indented JSON, for scripts (`--json`).
func printJSON<Value: Encodable>(_ value: Value) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
