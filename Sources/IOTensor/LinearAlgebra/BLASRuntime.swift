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
}
