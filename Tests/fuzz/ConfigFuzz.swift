// The loaders' fuzz harness (Tests/fuzz/run.sh builds it with libFuzzer and AddressSanitizer):
// every input goes, as the bytes of a file, to the station-config loader and to the profile loader.
// A refusal is the expected outcome for most inputs; a crash, a hang, a leak or a sanitizer report
// is a finding.
import WaystationCore

/// Profiles a fuzzed config may name (`profile = "fridge-generic"`): the shipped ones.
let profileDirectories = ["devices"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The depth scan must bound what toml++ builds: the tree walk's own check must never be the
    // one that refuses a document.
    do {
        _ = try TOMLParser.parse(bytes: bytes, allowDates: true)
    } catch  where error.message.hasPrefix("nesting deeper") {
        fatalError("the depth scan let through a document toml++ built deeper: \(error)")
    } catch {}
    _ = try? StationConfigLoader.load(bytes: bytes, path: "fuzz/station.toml", extraProfilePaths: profileDirectories)
    _ = ProfileLoader.parse(bytes: bytes, path: "fuzz/profile.toml")
    return 0
}
