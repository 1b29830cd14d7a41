import Glibc
import HTTP1
import Logging
import Reactor
import Storage
import Synchronization

/// One search to run: what to read, and who is waiting (same ticket as writes).
struct SearchRequest: Sendable {
    let search: OrderSearch
    let wantsCounts: Bool
    let ticket: WriteTicket
}

struct SearchCompletion: Sendable {
    let ticket: WriteTicket
    let response: HTTPResponse
}

/// The thread that answers `GET /api/orders/search`, with its own read-only store, so a
/// page that has to come from the disk (or a 200-order page, several milliseconds of
/// decoding and encoding) never stalls an event loop and its WebSockets. Loops hand it
/// requests; it posts each finished answer back to the loop's mailbox.
///
/// One thread for all loops: pages are short (about 1 ms for 50 orders at 1 M orders,
/// docs/BENCHMARKS.md) and run one after another.
final class SearchReader: Sendable {
    private let queue = Mutex<(items: [SearchRequest], stopping: Bool)>(([], false))
    private let wakeup: WakeupSignal
    private let thread = Mutex<LoopThread?>(nil)

    /// - Parameter storage: opens the reader's store on the reader thread.
    init(storage: any StorageBackend, group: LoopGroup, logger: Logger) throws {
        wakeup = try WakeupSignal()
        let t = try LoopThread { [self] in
            run(openStore: storage.openReader, group: group, logger: logger)
        }
        thread.withLock { $0 = t }
    }

    func submit(_ request: SearchRequest) {
        queue.withLock { $0.items.append(request) }
        wakeup.signal()
    }

    /// Answers what is queued, then ends the thread.
    func stopAndJoin() {
        queue.withLock { $0.stopping = true }
        wakeup.signal()
        let t = thread.withLock { t -> LoopThread? in defer { t = nil }; return t }
        t?.join()
    }

    private func run(openStore: () throws -> any OrderStore, group: LoopGroup, logger: Logger) {
        let store: (any OrderStore)?
        do {
            store = try openStore()
        } catch {
            logger.error("cannot open the database for searches (they are answered 503): \(error)")
            store = nil
        }
        // This thread's own (no lock): at most one line per interval per kind.
        let reads = ReadFailureLog(logger: logger)
        while true {
            let (items, stopping) = queue.withLock { q -> ([SearchRequest], Bool) in
                defer { q.items.removeAll(keepingCapacity: true) }
                return (q.items, q.stopping)
            }
            var perLoop: [Int: [SearchCompletion]] = [:]
            for item in items {
                let response: HTTPResponse
                if let store {
                    response = reads.respond {
                        try SearchEndpoint.page(item.search, counts: item.wantsCounts, store: store)
                    }
                } else {
                    response = .error(.serviceUnavailable, code: "storage_unavailable", message: "the database could not be read; retry")
                }
                perLoop[item.ticket.loop, default: []].append(SearchCompletion(ticket: item.ticket, response: response))
            }
            for (loop, completions) in perLoop { group.mailboxes[loop].post(.service(.searchResults(completions))) }
            if stopping && items.isEmpty { return }
            if items.isEmpty {
                var p = pollfd(fd: wakeup.fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 60_000) > 0 { wakeup.drain() }
            }
        }
    }
}
