import Foundation

/// A task executor with threads of its own, for tests whose tasks must interleave for real even
/// when the cooperative pool is busy with the rest of the run.
///
/// The cooperative pool has one thread per core and runs jobs to their end in turn, so on a
/// loaded two-core machine a test that hops between tasks thousands of times waits behind every
/// other test's long jobs at each hop. These threads are scheduled by the kernel instead, which
/// also preempts them anywhere: races between them are as likely as on a machine with spare cores.
final class ThreadsExecutor: TaskExecutor, @unchecked Sendable {
    /// Guards `jobs` and `stopped`, and wakes idle threads.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    /// Starts `threads` threads that run the jobs enqueued here, in order, until ``stop()``.
    init(threads: Int) {
        for _ in 0..<threads { Thread { [self] in runJobs() }.start() }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Ends the threads once the jobs already enqueued have run.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            let next = jobs.isEmpty ? nil : jobs.removeFirst()
            condition.unlock()
            guard let next else { return }
            next.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
