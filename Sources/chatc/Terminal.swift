import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Whether to write color (SGR) codes: only to a terminal, and not when
/// NO_COLOR is set to anything (https://no-color.org).
func colorWanted(fd: Int32 = STDOUT_FILENO) -> Bool {
    guard isatty(fd) != 0 else { return false }
    return (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
}

/// The controlling terminal in raw mode on the alternate screen, for as long
/// as the interactive client runs. `restore()` puts it back; it is also
/// called on SIGINT, SIGTERM and SIGHUP before the process exits, so a killed
/// client does not leave the shell without echo.
final class RawTerminal: @unchecked Sendable {
    private var saved = termios()
    private var signalSources: [any DispatchSourceSignal] = []
    private let lock = NSLock()
    private var active = false

    init() throws {
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else {
            throw CLIError("the interactive client needs a terminal; for scripts use the commands (chatc --help)")
        }
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { throw CLIError("cannot read the terminal's settings") }
        var raw = saved
        // As cfmakeraw, but keep output processing (\n → \r\n) off too: the
        // frame places every row itself.
        raw.c_iflag &= ~tcflag_t(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON)
        raw.c_oflag &= ~tcflag_t(OPOST)
        raw.c_lflag &= ~tcflag_t(ECHO | ECHONL | ICANON | ISIG | IEXTEN)
        raw.c_cflag &= ~tcflag_t(CSIZE | PARENB)
        raw.c_cflag |= tcflag_t(CS8)
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0 else { throw CLIError("cannot put the terminal in raw mode") }
        active = true
        write("\u{1B}[?1049h\u{1B}[2J")  // the alternate screen, cleared
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            Glibc.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler { [weak self] in
                self?.restore()
                exit(128 + signal)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    func restore() {
        lock.lock()
        defer { lock.unlock() }
        guard active else { return }
        active = false
        write("\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l")
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
    }

    /// Columns and rows (80×24 when the terminal does not say).
    var size: (width: Int, height: Int) {
        var w = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0, w.ws_row > 0 else { return (80, 24) }
        return (Int(w.ws_col), Int(w.ws_row))
    }

    func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            bytes = bytes.dropFirst(n)
        }
    }

    /// Reads stdin on a thread of its own (a blocking read has no place on
    /// the concurrency pool), handing every chunk to `received`; a pause of
    /// 50 ms after input is reported as an empty chunk (a lone ESC is the
    /// Escape key only when nothing follows it), the end of input as nil.
    func readInput(_ received: @escaping @Sendable ([UInt8]?) -> Void) {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 1024)
            var pollfd = Glibc.pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            var idle = true
            while true {
                let ready = poll(&pollfd, 1, idle ? -1 : 50)
                if ready == 0 {
                    idle = true
                    received([])
                    continue
                }
                let n = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    received(nil)
                    return
                }
                idle = false
                received(Array(buffer[..<n]))
            }
        }
        thread.start()
    }
}
