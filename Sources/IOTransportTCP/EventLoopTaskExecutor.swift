import NIOCore

/// Runs Swift concurrency jobs on one NIO event loop: work that answers a peer quickly can run on
/// the thread that reads and writes that peer's connection, so that neither the delivery nor the
/// answer wakes another thread.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
