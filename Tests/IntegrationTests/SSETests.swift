import Foundation
import Testing

/// `GET /api/events` (docs/PROTOCOL.md, Server-Sent Events): the push protocol's events as a
/// `text/event-stream`, with `id: <seq>`, the same tokens and permissions as `/ws`, and resume
/// with `Last-Event-ID` exactly like `since`.
@Suite(.sharedServer(["--ping-interval", "1"])) struct SSETests {
    @Test func eventsArriveAsServerSentEventsWithTheirSeqAsId() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let userId = uniqueID("sse")
        let user = tokens.token(sub: userId, role: "user")
        let stream = try EventStreamSession(port: server.port, path: "/api/events?channel=user:\(userId)&access_token=\(user)")
        #expect(stream.response.status == 200)
        #expect(stream.response.header("Content-Type") == "text/event-stream")
        #expect(stream.response.header("Cache-Control") == "no-cache")
        #expect(stream.response.header("X-Accel-Buffering") == "no")
        #expect(stream.response.header("Content-Length") == nil, "the body runs until the connection closes")
        #expect(stream.response.header("Transfer-Encoding") == nil)
        let subscribed = try #require(stream.next())
        #expect(subscribed.name == "subscribed")
        #expect(subscribed.json?["channel"] as? String == "user:\(userId)")
        let head = try #require(subscribed.json?["head"] as? Int)
        #expect(subscribed.id == String(head), "live from head: a reconnect resumes from there")
        #expect((subscribed.json?["epoch"] as? String)?.isEmpty == false)

        let client = try TestClient(port: server.port)
        let first = try client.createOrder(token: user, body: OrderBody.simple(note: "line one\\nline two"))
        let second = try client.createOrder(token: user)
        let admin = tokens.token(sub: "ops", role: "admin")
        let moved = try client.updateTracking(first.id, token: admin, body: #"{"status":"shipped","note":"on its way"}"#)

        var events: [EventStreamSession.Event] = []
        while events.count < 3, let event = stream.next() { events.append(event) }
        #expect(events.map(\.name) == ["order.created", "order.created", "tracking.updated"])
        #expect(events.map(\.id) == [first.seq, second.seq, moved.seq].map { String($0) })
        // The same object as the WebSocket's `event` message.
        let data = try #require(events.first?.json)
        #expect(data["type"] as? String == "event")
        #expect(data["channel"] as? String == "user:\(userId)")
        #expect(data["seq"] as? Int == first.seq)
        #expect(data["event"] as? String == "order.created")
        #expect(jsonEqual(data["order"], first.order))
        #expect(((events[2].json?["order"] as? [String: Any])?["tracking"] as? [String: Any])?["status"] as? String == "shipped")

        // Idle: comment heartbeats every ping interval (1 s here) keep proxies from cutting it.
        #expect(stream.next(within: 2.5) == nil)
        #expect(!stream.ended)
        #expect(stream.comments.contains("keepalive"))
    }

    @Test func theTokenMayComeInTheAuthorizationHeader() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let stream = try EventStreamSession(port: server.port, path: "/api/events?channel=admin",
                                            headers: ["Authorization": "Bearer " + admin])
        #expect(stream.response.status == 200)
        #expect(stream.next()?.name == "subscribed")
    }

    @Test func refusalsComeAsHTTPErrorsBeforeTheStreamStarts() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let me = uniqueID("me")
        let user = tokens.token(sub: me, role: "user")
        func open(_ path: String, _ headers: [String: String] = [:]) throws -> TestClient.Response {
            try EventStreamSession(port: server.port, path: path, headers: headers).response
        }
        let otherUser = try open("/api/events?channel=user:\(uniqueID("other"))&access_token=\(user)")
        #expect(otherUser.status == 403)
        #expect(otherUser.errorCode == "forbidden")
        let admin = try open("/api/events?channel=admin&access_token=\(user)")
        #expect(admin.status == 403)
        let noToken = try open("/api/events?channel=user:\(me)")
        #expect(noToken.status == 401)
        let badToken = try open("/api/events?channel=user:\(me)&access_token=\(user)x")
        #expect(badToken.status == 401)
        #expect(badToken.header("WWW-Authenticate") != nil)
        let badChannel = try open("/api/events?channel=everyone&access_token=\(user)")
        #expect(badChannel.status == 400)
        let noChannel = try open("/api/events?access_token=\(user)")
        #expect(noChannel.status == 400)
        let badCursor = try open("/api/events?channel=user:\(me)&access_token=\(user)", ["Last-Event-ID": "-3"])
        #expect(badCursor.status == 400)
        let badSince = try open("/api/events?channel=user:\(me)&since=abc&access_token=\(user)")
        #expect(badSince.status == 400)
        let post = try TestClient(port: server.port).request("POST", "/api/events?channel=user:\(me)&access_token=\(user)")
        #expect(post?.status == 405)
    }

    @Test func aCursorFromAnotherHistoryGetsCursorExpiredAndTheStreamEnds() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let me = uniqueID("epoch")
        let user = tokens.token(sub: me, role: "user")
        _ = try TestClient(port: server.port).createOrder(token: user)
        let stream = try EventStreamSession(port: server.port, path: "/api/events?channel=user:\(me)&epoch=not-this-one&access_token=\(user)",
                                            headers: ["Last-Event-ID": "0"])
        #expect(stream.response.status == 200)
        let events = stream.eventsUntilEnd()
        #expect(events.map(\.name) == ["error"])
        #expect(events.first?.code == "cursor_expired")
        #expect(events.first?.json?["channel"] as? String == "user:\(me)")
        #expect(stream.ended, "the stream ends after the error")

        // A cursor beyond the history's head cannot resume either.
        let future = try EventStreamSession(port: server.port, path: "/api/events?channel=user:\(me)&since=999999999&access_token=\(user)")
        #expect(future.eventsUntilEnd().map(\.code) == ["cursor_expired"])
        #expect(future.ended)
    }

    @Test func lastEventIDWinsOverSinceAndResumesWithNoGapAndNoDuplicate() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let me = uniqueID("resume")
        let user = tokens.token(sub: me, role: "user")
        let client = try TestClient(port: server.port)
        var seqs: [Int] = []
        for _ in 0..<4 { seqs.append(try client.createOrder(token: user).seq) }
        // The URL's `since` is where the page started; `Last-Event-ID` is what the browser
        // last received on this stream, which is newer.
        let stream = try EventStreamSession(port: server.port, path: "/api/events?channel=user:\(me)&since=0&access_token=\(user)",
                                            headers: ["Last-Event-ID": String(seqs[1])])
        #expect(stream.next()?.name == "subscribed")
        var got: [Int] = []
        while got.count < 2, let event = stream.next() { if let seq = event.seq { got.append(seq) } }
        #expect(got == Array(seqs[2...]))
    }
}

/// Resume across a restart: the epoch and `seq` survive (same data folder), so an
/// `EventSource` that reconnects with `Last-Event-ID` gets exactly what it missed. SIGTERM
/// ends streams cleanly.
@Suite struct SSERestartTests {
    @Test func resumeWithLastEventIDAcrossARestartHasNoGapAndNoDuplicate() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let client = try TestClient(port: server.port)
        var all: [Int] = []
        for _ in 0..<3 { all.append(try client.createOrder(token: admin, body: OrderBody.simple(userId: "restart")).seq) }

        let before = try EventStreamSession(port: server.port, path: "/api/events?channel=admin&since=0&access_token=\(admin)")
        let subscribed = try #require(before.next())
        let epoch = try #require(subscribed.json?["epoch"] as? String)
        var received: [Int] = []
        while received.count < 2, let event = before.next() {
            #expect(event.id == event.seq.map { String($0) })
            if let seq = event.seq { received.append(seq) }
        }
        #expect(received == Array(all.prefix(2)))
        let lastEventID = try #require(received.last)

        server.signal(SIGTERM)
        // The rest of the stream (event 3, if it came before the end), then a clean end.
        let tail = before.eventsUntilEnd()
        #expect(before.ended)
        #expect(tail.allSatisfy { $0.name == "order.created" })
        #expect(server.waitForExit(timeout: 10) == 0)

        let again = try ServerProcess(dataFolder: server.dataFolder)
        defer { again.stop() }
        let c2 = try TestClient(port: again.port)
        for _ in 0..<2 { all.append(try c2.createOrder(token: admin, body: OrderBody.simple(userId: "restart")).seq) }
        // What the browser sends on reconnect: the last id it saw; the page's URL has the epoch.
        let after = try EventStreamSession(port: again.port, path: "/api/events?channel=admin&epoch=\(epoch)&access_token=\(admin)",
                                           headers: ["Last-Event-ID": String(lastEventID)])
        #expect(after.response.status == 200)
        let resubscribed = try #require(after.next())
        #expect(resubscribed.name == "subscribed")
        #expect(resubscribed.json?["epoch"] as? String == epoch)
        all.append(try c2.createOrder(token: admin, body: OrderBody.simple(userId: "restart")).seq)   // live, after the subscribe
        var resumed: [Int] = []
        while resumed.count < all.count - received.count, let event = after.next() {
            if let seq = event.seq { resumed.append(seq) }
        }
        #expect(received + resumed == all)
    }
}

/// A reader that cannot keep up is bounded like a WebSocket one: past `--max-output-bytes`
/// its stream ends, others are not held back, and it resumes with `Last-Event-ID`.
@Suite(.sharedServer(["--max-output-bytes", "65536"])) struct SSESlowReaderTests {
    @Test func aSlowReaderIsEndedAndResumesWithoutAGap() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let client = try TestClient(port: server.port, timeoutSeconds: 20)
        let start = try client.head(adminToken: admin)

        let slow = try EventStreamSession(port: server.port, path: "/api/events?channel=admin&access_token=\(admin)",
                                          timeoutSeconds: 20, receiveBufferBytes: 4096)
        #expect(slow.response.status == 200)
        func slowConsumersClosed() -> Int { client.metric("orderpush_slow_consumers_closed_total") ?? -1 }
        // ~30 KB orders (one event fits under the cap) until the server gives up on the reader.
        let metadata = #""metadata":{"blob":"\#(String(repeating: "y", count: 30_000))"}"#
        var created: [Int] = []
        while created.count < 1000, created.count % 10 != 0 || slowConsumersClosed() == 0 {
            created.append(try client.createOrder(token: admin, body: OrderBody.simple(userId: "bulk", extra: metadata)).seq)
        }
        #expect(slowConsumersClosed() == 1)
        let last = try #require(created.last)
        let everything = Array((start + 1)...last)

        // It reads what reached it, then the end of the stream.
        let drained = slow.eventsUntilEnd(within: 20).compactMap(\.seq)
        #expect(slow.ended)
        #expect(drained == Array(everything.prefix(drained.count)))
        #expect(drained.count < created.count)

        // Reconnecting with the last id it saw gives exactly the rest.
        let resumed = try EventStreamSession(port: server.port, path: "/api/events?channel=admin&access_token=\(admin)",
                                             headers: ["Last-Event-ID": String(drained.last ?? start)], timeoutSeconds: 20)
        #expect(resumed.next()?.name == "subscribed")
        var rest: [Int] = []
        while (rest.last ?? drained.last ?? start) < last, let event = resumed.next(within: 20) {
            if let seq = event.seq { rest.append(seq) }
        }
        #expect(!resumed.ended, "the resumed reader was cut off during its replay")
        #expect(drained + rest == everything)
    }
}
