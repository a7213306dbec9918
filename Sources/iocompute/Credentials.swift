import ArgumentParser
import Foundation
import IOCompute

/// `iocompute credentials`: certificates for the machines of a cluster.
struct Credentials: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make certificates for the nodes of a cluster.", subcommands: [Issue.self])

    /// `iocompute credentials issue`: a node's certificate, key, the authority and the token.
    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "On the head: write a new node's certificate and key, the authority's certificate and the token into a folder.",
            discussion: """
                The folder (mode 0700, files 0600) is a node's state folder: copy it to the machine \
                as ~/.iocompute (or its IOCOMPUTE_HOME) and run `iocompute start --join HEAD` there. \
                It holds the node's private key and the cluster token: move it over a private channel.
                """)

        @Option(help: "The node's name (1 to 64 of A-Z a-z 0-9 . _ -); its certificate says it.")
        var node: String

        @Option(help: ArgumentHelp("A name or address of the node, written into its certificate; repeat for several.", valueName: "HOST"))
        var host: [String] = []

        @Option(help: "The folder to write.")
        var out: String

        @Option(help: "The head's state folder (default: $IOCOMPUTE_HOME, else ~/.iocompute).")
        var stateDir: String?

        @Option(help: "Days the certificate stays valid.")
        var days = 365

        func run() throws {
            let state = StateDirectory(path: stateDir)
            let authority = try state.authorityFromHead()
            let credentials = try authority.issue(node: node, hosts: host, validity: .seconds(days * 86_400))
            try credentials.write(to: out)
            try PrivateFile.write(try state.token().hexadecimal + "\n", to: out + "/token")
            // The node will accept only this head's certificate as the head.
            try StateDirectory.recordHeadName(try state.credentials().node, in: out)
            print("wrote the credentials of node \(node) to \(out) (keep it private; copy it to the node as ~/.iocompute)")
        }
    }
}
