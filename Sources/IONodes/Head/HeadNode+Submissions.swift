import Foundation
import IORuntime

/// A job submitted with `iocompute submit`: where its driver runs, who follows its output, and
/// the output so far (the last ``HeadNode/keptLines`` lines).
struct Submission {
    var node: String
    var followers: Set<PeerID>
    var lines: [String] = []
    var lineCount = 0
    var state = JobSummary.State.running
    var ending: String?
    let started = ContinuousClock.now
}

extension HeadNode {
    /// Lines of output kept per job.
    static let keptLines = 10_000

    func handleSubmissions(_ message: ControlMessage, from source: PeerID) {
        switch message {
        case .submitJob(let request, let executable, let arguments):
            do {
                let (job, node) = try submit(executable: executable, arguments: arguments, submitter: source)
                reply(.jobStarted(request: request, job: job, node: node), to: source)
            } catch {
                reply(.failed(request: request, reason: "\(error)"), to: source)
            }
        case .jobOutput(let job, let line):
            let followers = submissions.withLock { submissions -> Set<PeerID> in
                var submission = submissions[job] ?? Submission(node: "", followers: [])
                submission.lines.append(line)
                submission.lineCount += 1
                if submission.lines.count > Self.keptLines { submission.lines.removeFirst(submission.lines.count - Self.keptLines) }
                submissions[job] = submission
                return submission.followers
            }
            for follower in followers { reply(message, to: follower) }
        case .jobEnded(let job, let status, let description):
            let followers = submissions.withLock { submissions -> Set<PeerID> in
                guard var submission = submissions[job] else { return [] }
                if submission.state == .running { submission.state = status == 0 ? .succeeded : .failed }
                submission.ending = description
                let followers = submission.followers
                submission.followers = []
                submissions[job] = submission
                return followers
            }
            logger.info("job \(job) ended: \(description)")
            for follower in followers { reply(message, to: follower) }
        case .listJobs(let request):
            let now = ContinuousClock.now
            let list = submissions.withLock { submissions in
                submissions.map { job, submission in
                    JobSummary(
                        job: job, node: submission.node, state: submission.state, ending: submission.ending,
                        runningFor: (now - submission.started).seconds, outputLines: submission.lineCount)
                }
            }
            reply(.jobList(request: request, list.sorted { $0.job < $1.job }), to: source)
        case .readLog(let request, let job, let follow):
            let found = submissions.withLock { submissions -> ([String], ended: (Int32, String)?)? in
                guard var submission = submissions[job] else { return nil }
                let running = submission.state == .running && submission.ending == nil
                if follow && running { submission.followers.insert(source) }
                submissions[job] = submission
                let ended: (Int32, String)? = running ? nil : (submission.state == .succeeded ? 0 : 1, submission.ending ?? "")
                return (submission.lines, ended)
            }
            guard let (lines, ended) = found else {
                reply(.failed(request: request, reason: "no job \(job)"), to: source)
                return
            }
            for line in lines { reply(.jobOutput(job: job, line: line), to: source) }
            reply(.done(request: request), to: source)
            if follow, let ended { reply(.jobEnded(job: job, status: ended.0, description: ended.1), to: source) }
        case .stopSubmitted(let request, let job):
            let node = submissions.withLock { submissions -> String? in
                guard submissions[job]?.state == .running else { return nil }
                submissions[job]?.state = .stopped
                return submissions[job]?.node
            }
            guard let node, let peer = nodes.withLock({ $0[node]?.peer }) else {
                reply(.failed(request: request, reason: "no running job \(job)"), to: source)
                return
            }
            reply(.stopDriver(job: job), to: peer)
            reply(.done(request: request), to: source)
        default: break
        }
    }

    /// Starts a submitted job's driver on the head's own node when it is alive, else on the
    /// alive node with the most CPUs.
    private func submit(executable: String, arguments: [String], submitter: PeerID) throws -> (String, String) {
        guard executables.path(of: executable) != nil else { throw ControlError.refused("upload executable \(executable) first") }
        let own = configuration.credentials.node.node
        let chosen = nodes.withLock { nodes -> (String, PeerID)? in
            let alive = nodes.values.filter { $0.state == .alive && $0.peer != nil }
            let node =
                alive.first { $0.announcement.name == own }
                ?? alive.max { ($0.announcement.resources["cpu"] ?? 0) < ($1.announcement.resources["cpu"] ?? 0) }
            return node.map { ($0.announcement.name, $0.peer!) }
        }
        guard let (node, peer) = chosen else { throw ControlError.refused("no node is alive") }
        let job = "job-" + UUID().uuidString.prefix(8).lowercased()
        submissions.withLock { $0[job] = Submission(node: node, followers: [submitter]) }
        try transport.send(
            ControlMessage.launchDriver(DriverOrder(job: job, executable: executable, arguments: arguments)).frame(), from: .driver,
            to: peer)
        logger.info("job \(job) submitted: its driver runs on \(node)")
        return (job, node)
    }

    /// Stops sending job output to a client that left.
    func forgetFollower(_ peer: PeerID) {
        submissions.withLock { submissions in
            for job in submissions.keys where submissions[job]?.followers.contains(peer) == true {
                submissions[job]?.followers.remove(peer)
            }
        }
    }
}
