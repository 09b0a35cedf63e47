import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Names the calling thread as the kernel shows it (`top -H`, perf,
/// /proc/PID/task/TID/comm); at most 15 bytes are kept.
///
/// Call it from the thread itself: on Linux, Foundation applies a
/// `Thread.name` set before `start()` only when the new thread wins a race
/// with the one that started it, and otherwise the thread keeps the name
/// of its creator (often a dispatch queue's, "com.apple.root.default-qos").
public func nameThisThread(_ name: String) {
    #if os(Linux)
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    #endif
}
