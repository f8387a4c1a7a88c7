import Foundation
import Lessons

/// The `kmlab watch` loop: check, show, wait for a save or a key, repeat.
/// Never moves on to another lesson by itself: the learner decides when.
final class WatchSession {
    let lesson: Lesson
    let answers: String
    let nextLesson: Lesson?
    let watcher: FileWatcher
    let store: ProgressStore
    private var screen: WatchScreen?
    private var hints: [String: Int] = [:]
    private var showList = false
    /// Keys come from a terminal in raw mode, or (piped) one per line.
    private var keysOpen = true
    private let clearsScreen = Terminal.stdoutIsTTY
    /// Shown under the first screen only (the answers file was just created).
    var notice: String?

    init(lesson: Lesson, answers: String, nextLesson: Lesson?, forcePolling: Bool, store: ProgressStore = .standard()) {
        self.lesson = lesson
        self.answers = answers
        self.nextLesson = nextLesson
        self.store = store
        watcher = FileWatcher(path: answers, forcePolling: forcePolling)
    }

    func run() {
        RawTerminal.enter()
        defer { RawTerminal.restore() }
        check()
        while true {
            var fds: [pollfd] = []
            if keysOpen { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
            if let fd = watcher.descriptor { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), watcher.timeout)
            if ready < 0 && errno != EINTR { return }
            if keysOpen, fds.first.map({ $0.revents != 0 }) == true {
                switch readKey() {
                case .quit: return
                case .none: break
                }
            }
            if watcher.changed() {
                // An editor's save is often several steps (truncate, write,
                // rename): let them finish, then check what they left.
                usleep(30_000)
                _ = watcher.changed()
                check()
            }
        }
    }

    private enum KeyOutcome { case none, quit }

    private func readKey() -> KeyOutcome {
        var byte: UInt8 = 0
        let n = read(0, &byte, 1)
        if n == 0 {
            // Piped keys ran out: keep watching; only a signal or q ends it.
            keysOpen = false
            return .none
        }
        guard n == 1 else { return .none }
        switch byte {
        case UInt8(ascii: "q"), 4: // q, Ctrl-D
            return .quit
        case UInt8(ascii: "h"):
            takeHint()
        case UInt8(ascii: "r"), 10, 13:
            check()
        case UInt8(ascii: "l"):
            showList.toggle()
            draw()
        default:
            break
        }
        return .none
    }

    /// Grades the file as `kmlab check` does (progress recorded), then shows it.
    private func check() {
        let result: SubmissionResult
        switch ScriptFile.read(answers) {
        case .failure(let problem):
            draw(message: "\(problem); waiting for \(answers) to be saved")
            return
        case .success(let source):
            result = LearnerCheck.run(lesson: lesson, source: source, submissionID: answers, hint: false, store: store).result
        }
        screen = WatchScreen(lesson: lesson, answers: answers, result: result, hints: hints, showList: showList,
                             nextLesson: nextLesson, watching: watcher.mode == .inotify ? "inotify" : "polling")
        draw()
    }

    /// `h`: the next hint for the exercise in focus, counted as `--hint` counts it.
    private func takeHint() {
        guard let screen, let (_, r) = screen.focus,
              let exercise = lesson.exercises.first(where: { $0.id == r.id }) else { return }
        guard !exercise.hints.isEmpty else {
            draw(message: "\(exercise.id) has no hints.")
            return
        }
        hints[r.id] = store.update { $0.takeHint(lesson: lesson.id, exercise: r.id, available: exercise.hints.count) }
        draw()
    }

    private func draw(message: String? = nil) {
        var text = ""
        if var screen {
            screen.hints = hints
            screen.showList = showList
            self.screen = screen
            text = screen.render()
        }
        if let message { text += message + "\n" }
        if let notice {
            text += notice + "\n"
            self.notice = nil
        }
        let prefix = clearsScreen ? "\u{1B}[H\u{1B}[2J" : "\n"
        Terminal.out(Array((prefix + text).utf8))
        fflush(stdout)
    }
}
