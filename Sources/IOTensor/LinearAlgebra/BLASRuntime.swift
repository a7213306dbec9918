#if canImport(Glibc)
    import Glibc
#endif

/// One-time tuning of the BLAS library that the process loaded.
///
/// Debian 12's OpenBLAS (0.3.21) picks its kernels by CPU model and falls back to its slowest
/// generic x86-64 kernels ("Prescott") on processors newer than itself, such as 4th- and
/// 5th-generation Xeons: GEMM then runs about four times slower than it should. When that happens
/// and the user has not chosen a core with `OPENBLAS_CORETYPE`, this selects the kernels that the
/// CPU's instruction set supports (Cooperlake for AVX-512 with BF16, SkylakeX for AVX-512, Haswell
/// for AVX2) through OpenBLAS's own dynamic-architecture entry points, and exports the choice so
/// that child processes (worker processes) start with it. With another BLAS nothing happens.
enum BLASRuntime {
    /// The OpenBLAS core in use after tuning, or `nil` when the BLAS is not OpenBLAS.
    static let coreName: String? = tune()

    /// Tunes once; cheap to call before every BLAS or LAPACK use.
    @inline(__always) static func prepare() { _ = coreName }

    private static func tune() -> String? {
        #if os(Linux)
            typealias NameFunction = @convention(c) () -> UnsafeMutablePointer<CChar>?
            typealias VoidFunction = @convention(c) () -> Void
            guard let handle = dlopen(nil, RTLD_NOW),
                let nameSymbol = dlsym(handle, "openblas_get_corename")
            else { return nil }
            let currentName = {
                unsafeBitCast(nameSymbol, to: NameFunction.self)().map { String(cString: $0) } ?? "unknown"
            }
            let detected = currentName()
            guard detected.lowercased() == "prescott", getenv("OPENBLAS_CORETYPE") == nil,
                let initSymbol = dlsym(handle, "gotoblas_dynamic_init"),
                let quitSymbol = dlsym(handle, "gotoblas_dynamic_quit"),
                let better = preferredCore()
            else { return detected }
            setenv("OPENBLAS_CORETYPE", better, 1)
            unsafeBitCast(quitSymbol, to: VoidFunction.self)()
            unsafeBitCast(initSymbol, to: VoidFunction.self)()
            return currentName()
        #else
            return nil
        #endif
    }

    /// The best OpenBLAS core for this CPU's instruction-set flags, from `/proc/cpuinfo`.
    private static func preferredCore() -> String? {
        guard let bytes = try? FileAccess.read("/proc/cpuinfo") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let flagsLine = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) {
            return flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        if flags.contains("avx") { return "Sandybridge" }
        return nil
    }
}

/// Facts about the numerical libraries behind ``Tensor``.
public enum TensorBackend {
    /// The OpenBLAS kernel family in use (such as `"Cooperlake"` or `"Haswell"`), or `nil` when
    /// the process's BLAS is not OpenBLAS.
    public static var blasCoreName: String? { BLASRuntime.coreName }

    /// The number of threads that tensor loops are split over.
    public static var threadCount: Int { Parallel.threadCount }

    /// Sets how many threads OpenBLAS splits each call over, for the whole process; returns
    /// whether the BLAS is OpenBLAS (otherwise nothing changes).
    ///
    /// Several workers of one in-process cluster that each call BLAS should limit it to one
    /// thread each, as `OPENBLAS_NUM_THREADS=1` does for worker processes: otherwise every call
    /// starts a thread per core and the workers' threads spin against each other (a
    /// hyperparameter search of 32 trials on 2 in-process workers took 17.2 s with OpenBLAS's
    /// default and 4.6 s with one thread each).
    @discardableResult
    public static func setBLASThreads(_ count: Int) -> Bool {
        #if os(Linux)
            typealias SetFunction = @convention(c) (Int32) -> Void
            BLASRuntime.prepare()
            guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "openblas_set_num_threads") else { return false }
            unsafeBitCast(symbol, to: SetFunction.self)(Int32(max(1, count)))
            return true
        #else
            return false
        #endif
    }
}
