// libFuzzer entry point: every input goes through each decoder of untrusted bytes. A crash,
// a trap or a sanitizer report is a bug; add the input to Tests/IORuntimeTests as a regression.
@_spi(Fuzzing) import IORuntime
@_spi(Fuzzing) import IOTrain
@_spi(Fuzzing) import IOTransportTCP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    WireFuzzing.decodeEverything(bytes)
    TransportFuzzing.feedConnection(bytes)
    CollectiveFuzzing.decodeEverything(bytes)
    return 0
}

// SwiftPM links an executable target's entry point as `FuzzWire_main`; hand control to
// libFuzzer's driver from there instead of libFuzzer's own `main`.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("FuzzWire_main")
public func fuzzWireMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzOneInput)
}
