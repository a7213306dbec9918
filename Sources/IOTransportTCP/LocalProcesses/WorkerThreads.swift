/// How many threads the math libraries in a worker process start: as many as the CPUs the
/// worker holds (at least one), as Ray does with `OMP_NUM_THREADS`.
///
/// OpenBLAS otherwise starts a thread per core of the machine in every worker process, so that
/// two workers of one CPU each on two cores run four BLAS threads that spin against each other
/// (the data-parallel benchmark had to set `OPENBLAS_NUM_THREADS=1` itself), and each worker's
/// idle threads spin for a while after it starts. A value the user set in the environment of the
/// process that starts the workers is inherited instead.
package enum WorkerThreads {
    /// The variables set: OpenBLAS's, and OpenMP's for libraries built on it.
    package static let variables = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"]

    /// The variables to start a worker holding `cpus` CPUs with, less those this process's
    /// environment sets (the worker inherits those).
    package static func environment(cpus: Double) -> [String: String] {
        let inherited = environmentDictionary()
        let count = cpus.isFinite && cpus >= 1 ? String(Int(cpus.rounded(.down))) : "1"
        var variables: [String: String] = [:]
        for name in Self.variables where inherited[name] == nil { variables[name] = count }
        return variables
    }
}
