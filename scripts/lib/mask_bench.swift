// The masking library on its own, in process (scripts/bench mask builds this with
// swiftc against the release build's HoopMasking objects; see scripts/lib/mask_bench.py).
//
//   mask_bench bench FILE [SECONDS]   time Masker.maskText over every line of FILE
//                                     (one value a line), single-threaded, after a warm-up
//   mask_bench dump FILE              print what Masker.detect finds in every line, one
//                                     line out per value (to diff two builds' findings)
//
// Every detector is on and every finding redacted (the policy hoop-mask falls back to).
import Foundation
import HoopMasking

let args = CommandLine.arguments
guard args.count >= 3, let data = FileManager.default.contents(atPath: args[2]) else {
    FileHandle.standardError.write("usage: mask_bench bench|dump FILE [SECONDS]\n".data(using: .utf8)!)
    exit(2)
}
let values: [String] = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    .dropLast(data.last == 0x0A ? 1 : 0).map(String.init)
let masker = Masker(policy: MaskPolicy())

switch args[1] {
case "dump":
    var out = ""
    out.reserveCapacity(values.count * 16)
    for v in values {
        out += masker.detect(v).map(\.description).joined(separator: " ")
        out += "\n"
    }
    FileHandle.standardOutput.write(out.data(using: .utf8)!)
case "bench":
    let seconds = args.count > 3 ? Double(args[3]) ?? 3 : 3
    let bytes = values.reduce(0) { $0 + $1.utf8.count }
    var sink = 0
    // Warm-up: one pass (page faults, lazy statics such as the name lists).
    for v in values { sink &+= masker.maskText(v).counts.values.reduce(0, +) }
    var passes = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed = 0.0
    repeat {
        for v in values { sink &+= masker.maskText(v).counts.values.reduce(0, +) }
        passes += 1
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < seconds
    let n = Double(values.count * passes), mb = Double(bytes * passes) / 1e6
    print(String(format: "values %d  bytes %d  passes %d  seconds %.3f  values/s %.0f  MB/s %.2f  findings/pass %d",
                 values.count, bytes, passes, elapsed, n / elapsed, mb / elapsed, sink / (passes + 1)))
default:
    FileHandle.standardError.write("unknown mode \(args[1])\n".data(using: .utf8)!)
    exit(2)
}
