import HTTP1
import JSON
import Storage

/// Writes of one loop on their way to the `StorageWriter` and back: submits them with a
/// ticket naming the connection, and answers that connection when the commit is done.
final class WriteSubmission {
    private unowned let loop: ServerLoop
    private let writer: StorageWriter
    /// Submitted, not answered yet; the loop waits for these at shutdown.
    private(set) var pending = 0

    init(loop: ServerLoop, writer: StorageWriter) {
        self.loop = loop
        self.writer = writer
    }

    func submit(_ write: OrderWrite, from connection: Connection) {
        pending += 1
        writer.submit(write, ticket: WriteTicket(loop: loop.index, fd: connection.fd, serial: connection.serial))
    }

    /// Answers committed (or failed) writes. Runs from the loop's mailbox, after the events
    /// of the same commit were handed to the fan-out.
    func complete(_ completions: [WriteCompletion]) {
        for completion in completions {
            pending -= 1
            guard let connection = loop.connection(fd: completion.ticket.fd, serial: completion.ticket.serial) else {
                continue   // the client left; the write is committed all the same
            }
            connection.completeDeferred(Self.response(completion.result))
        }
    }

    static func response(_ result: Result<WriteOutcome, WriteError>) -> HTTPResponse {
        switch result {
        case .success(let outcome):
            var w = JSONWriter(reservingCapacity: outcome.event.orderJSON.count + 32)
            w.appendRaw(#"{"order":"#)
            outcome.order.appendJSON(to: &w)
            w.appendRaw(#","seq":"#)
            w.writeInteger(outcome.event.seq)
            w.append(UInt8(ascii: "}"))
            let created = outcome.event.kind == StoredEvent.orderCreated
            var response = HTTPResponse.json(created ? .created : .ok, w.bytes)
            if outcome.replayed { response.headers.add("Idempotent-Replayed", "true") }
            return response
        case .failure(.orderNotFound(let id)):
            return .error(.notFound, code: "not_found", message: "no order \(id)")
        case .failure(.idempotencyConflict):
            return .error(.unprocessableContent, code: "idempotency_conflict",
                          message: "this Idempotency-Key was already used with a different body")
        case .failure(.storage):
            // The database's reason went to the log (StorageWriter), not to the client.
            return .error(.serviceUnavailable, code: "storage_unavailable", message: "the change was not saved; retry")
        }
    }

    /// A limit hit on this loop, for its throttled log (the orders API has no loop of its own).
    func logLimitHit(_ kind: String, _ message: @autoclosure () -> String) {
        loop.logLimitHit(kind, message())
    }
}
