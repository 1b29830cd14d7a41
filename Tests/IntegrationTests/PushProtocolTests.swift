import Foundation
import Testing

/// The `/ws` protocol of docs/PROTOCOL.md §3 on the real binary: subscribe answers, fan-out to
/// exactly the right channels, role rules, replay from `since`, `cursor_expired`, bad
/// messages, unsubscribe. Every test uses its own users; admin-channel checks pick their
/// own orders out of what other tests write meanwhile.
@Suite(.sharedServer()) struct PushProtocolTests {
    /// How long a socket must stay quiet to count as "received nothing".
    static let quietMs = 400

    let server: ServerProcess
    let tokens: TokenFactory
    let client: TestClient
    let adminToken: String
    let serviceToken: String

    init() throws {
        server = try SharedServer.current()
        tokens = try TokenFactory(server: server)
        client = try TestClient(port: server.port)
        adminToken = tokens.token(sub: "ops", role: "admin")
        serviceToken = tokens.token(sub: "billing", role: "service")
    }

    private func user(_ sub: String) -> String { tokens.token(sub: sub, role: "user") }
    private func session(_ token: String) throws -> PushSession { try PushSession(port: server.port, token: token) }

    private func expectQuiet(_ session: PushSession, _ who: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let message = session.next(within: Self.quietMs)
        #expect(message == nil, "\(who) received \(message ?? [:])", sourceLocation: sourceLocation)
    }

    @Test func subscribedCarriesTheChannelHeadAndEpoch() throws {
        let before = try client.poll(token: adminToken)
        let s = try session(adminToken)
        let answer = try s.subscribed("admin")
        #expect(Set(answer.keys) == ["type", "channel", "head", "epoch"])
        let head = try #require(answer["head"] as? Int)
        #expect(head >= before.cursor)
        #expect(answer["epoch"] as? String == before.epoch)
        #expect((before.epoch ?? "").isEmpty == false)
        #expect(head <= (try client.poll(token: adminToken).cursor))
    }

    @Test func subjectsWithQuotesAndUnicodeGetTheirOwnChannel() throws {
        let sub = #"o'brien "the" 🚚 \ "# + uniqueID("user")
        let token = user(sub)
        let s = try session(token)
        try s.subscribed("user:" + sub)
        let created = try client.createOrder(token: token)
        #expect(created.order["userId"] as? String == sub)
        let event = try #require(s.next())
        #expect(event.channel == "user:" + sub)
        #expect(event.seq == created.seq)
        let polled = try client.poll(token: token, query: "since=0")
        #expect(polled.events.first?.channel == "user:" + sub)
        #expect(polled.seqs == [created.seq])
    }

    @Test func aNewOrderReachesAdminAndItsOwnerAndNobodyElse() throws {
        let owner = uniqueID("owner"), bystander = uniqueID("bystander")
        let adminS = try session(adminToken)
        try adminS.subscribed("admin")
        let ownerS = try session(user(owner))
        try ownerS.subscribed("user:\(owner)")
        let serviceS = try session(serviceToken)
        try serviceS.subscribed("user:\(owner)")
        let bystanderS = try session(user(bystander))
        try bystanderS.subscribed("user:\(bystander)")
        let adminOnBystander = try session(adminToken)
        try adminOnBystander.subscribed("user:\(bystander)")

        let created = try client.createOrder(token: user(owner))
        for (who, s, channel) in [("admin", adminS, "admin"), ("owner", ownerS, "user:\(owner)"),
                                  ("service on the owner's channel", serviceS, "user:\(owner)")] {
            let event = try #require(s.event(for: created.id, kind: "order.created", channel: channel), "\(who)")
            #expect(Set(event.keys) == ["type", "channel", "seq", "event", "order"], "\(who)")
            #expect(event.seq == created.seq, "\(who)")
            #expect(jsonEqual(event["order"], created.order), "\(who)")
        }
        // The owner's channel carries nothing but the owner's events.
        expectQuiet(ownerS, "the owner")
        expectQuiet(bystanderS, "another user")
        expectQuiet(adminOnBystander, "an admin following another user")
    }

    @Test func aTrackingUpdateReachesAdminAndItsOwnerAndNobodyElse() throws {
        let owner = uniqueID("owner"), bystander = uniqueID("bystander")
        let created = try client.createOrder(token: user(owner))
        let adminS = try session(adminToken)
        try adminS.subscribed("admin")
        let ownerS = try session(user(owner))
        try ownerS.subscribed("user:\(owner)")
        let bystanderS = try session(user(bystander))
        try bystanderS.subscribed("user:\(bystander)")

        let update = try client.updateTracking(created.id, token: serviceToken,
                                               body: #"{"status":"shipped","deliveryPartner":{"name":"Ravi","phone":"+91"}}"#)
        for (who, s, channel) in [("admin", adminS, "admin"), ("owner", ownerS, "user:\(owner)")] {
            let event = try #require(s.event(for: created.id, kind: "tracking.updated", channel: channel), "\(who)")
            #expect(event.seq == update.seq, "\(who)")
            #expect(jsonEqual(event["order"], update.order), "\(who)")
            #expect((event["order"] as? [String: Any])?["status"] as? String == "shipped")
        }
        expectQuiet(ownerS, "the owner")
        expectQuiet(bystanderS, "another user")
    }

    @Test func aUserMayFollowOnlyItsOwnChannelAndTheConnectionStays() throws {
        let me = uniqueID("me"), other = uniqueID("other")
        let s = try session(user(me))
        for channel in ["admin", "user:\(other)", "user:\(me)x", "user:\(me.uppercased())"] {
            s.subscribe(channel)
            let answer = try #require(s.next(), "\(channel)")
            #expect(answer.type == "error", "\(channel): \(answer)")
            #expect(answer.code == "forbidden", "\(channel)")
            #expect(answer.channel == channel)
            #expect((answer["message"] as? String)?.isEmpty == false)
        }
        try s.subscribed("user:\(me)")
        // The refused subscriptions deliver nothing; the accepted one works.
        _ = try client.createOrder(token: user(other))
        let mine = try client.createOrder(token: user(me))
        let event = try #require(s.next())
        #expect(event.seq == mine.seq)
        #expect(event.channel == "user:\(me)")
        expectQuiet(s, "the user")
    }

    @Test(arguments: ["admin", "service"])
    func adminAndServiceMayFollowAnyChannel(role: String) throws {
        let s = try session(role == "admin" ? adminToken : serviceToken)
        try s.subscribed("admin")
        try s.subscribed("user:\(uniqueID("anyone"))")
        try s.subscribed("user:with spaces and ünïcode")
    }

    static let badMessages: [String] = [
        "not json",
        "{\"type\":\"subscribe\",",
        "[\"subscribe\",\"admin\"]",
        "\"subscribe\"",
        "{}",
        "{\"channel\":\"admin\"}",
        "{\"type\":42,\"channel\":\"admin\"}",
        "{\"type\":\"dance\"}",
        "{\"type\":\"SUBSCRIBE\",\"channel\":\"admin\"}",
        "{\"type\":\"subscribe\"}",
        "{\"type\":\"unsubscribe\"}",
        "{\"type\":\"subscribe\",\"channel\":7}",
        "{\"type\":\"subscribe\",\"channel\":\"orders\"}",
        "{\"type\":\"subscribe\",\"channel\":\"user:\"}",
        "{\"type\":\"subscribe\",\"channel\":\"\"}",
        "{\"type\":\"subscribe\",\"channel\":\"admin\",\"since\":-1}",
        "{\"type\":\"subscribe\",\"channel\":\"admin\",\"since\":1.5}",
        "{\"type\":\"subscribe\",\"channel\":\"admin\",\"since\":\"3\"}",
        "{\"type\":\"subscribe\",\"channel\":\"admin\",\"since\":0,\"epoch\":5}",
    ]

    @Test(arguments: badMessages)
    func badMessagesAreAnsweredBadRequestAndTheConnectionStays(_ message: String) throws {
        let s = try session(adminToken)
        s.send(message)
        let answer = try #require(s.next())
        #expect(answer.type == "error", "\(answer)")
        #expect(answer.code == "bad_request", "\(answer)")
        #expect((answer["message"] as? String)?.isEmpty == false)
        try s.subscribed("user:\(uniqueID("after"))")
    }

    @Test func aBinaryMessageIsABadRequestAndTheConnectionStays() throws {
        let s = try session(adminToken)
        s.client.send(TestClient.frame(opcode: 2, payload: Array(#"{"type":"subscribe","channel":"admin"}"#.utf8)))
        let answer = try #require(s.next())
        #expect(answer.type == "error")
        #expect(answer.code == "bad_request")
        try s.subscribed("admin")
    }

    @Test func unsubscribeStopsDelivery() throws {
        let me = uniqueID("leaver")
        let s = try session(user(me))
        try s.subscribed("user:\(me)")
        s.send(#"{"type":"unsubscribe","channel":"user:\#(me)"}"#)
        let answer = try #require(s.next())
        #expect(answer.type == "unsubscribed")
        #expect(answer.channel == "user:\(me)")
        #expect(Set(answer.keys) == ["type", "channel"])
        _ = try client.createOrder(token: user(me))
        expectQuiet(s, "an unsubscribed user")
        // Unsubscribing again is harmless, and subscribing again works.
        s.send(#"{"type":"unsubscribe","channel":"user:\#(me)"}"#)
        #expect(s.next()?.type == "unsubscribed")
        try s.subscribed("user:\(me)")
    }

    @Test func sinceReplaysStoredEventsInOrderThenContinuesLive() throws {
        let me = uniqueID("resumer")
        let token = user(me)
        var seqs: [Int] = []
        var kinds: [String] = []
        for _ in 0..<3 {
            seqs.append(try client.createOrder(token: token).seq)
            kinds.append("order.created")
        }
        let firstID = try #require(client.poll(token: token, query: "since=0").events.first?.orderID)
        seqs.append(try client.updateTracking(firstID, token: adminToken, body: #"{"status":"packed"}"#).seq)
        kinds.append("tracking.updated")

        let s = try session(token)
        let answer = try s.subscribed("user:\(me)", since: 0)
        #expect((answer["head"] as? Int ?? 0) >= seqs.last!)
        var replayed: [[String: Any]] = []
        for _ in seqs { if let m = s.next() { replayed.append(m) } }
        #expect(replayed.map(\.seq) == seqs.map(Optional.some))
        #expect(replayed.map { $0["event"] as? String } == kinds.map(Optional.some))
        #expect(replayed.allSatisfy { $0.type == "event" && $0.channel == "user:\(me)" })

        let live = try client.createOrder(token: token)
        #expect(s.next()?.seq == live.seq)
        expectQuiet(s, "after the live event")

        // From the middle: only what came after.
        let middle = try session(token)
        try middle.subscribed("user:\(me)", since: seqs[1])
        var rest: [Int?] = []
        for _ in 0..<3 { rest.append(middle.next()?.seq) }
        #expect(rest == [seqs[2], seqs[3], live.seq])
        expectQuiet(middle, "after the replay")
    }

    @Test func replayPicksOneUsersEventsOutOfTheWholeLog() throws {
        let me = uniqueID("picky"), other = uniqueID("noise")
        var mine: [Int] = []
        for i in 0..<6 {
            let c = try client.createOrder(token: user(i % 2 == 0 ? me : other))
            if i % 2 == 0 { mine.append(c.seq) }
        }
        let s = try session(user(me))
        try s.subscribed("user:\(me)", since: 0)
        #expect([s.next()?.seq, s.next()?.seq, s.next()?.seq] == mine.map(Optional.some))
        expectQuiet(s, "after the replay")
    }

    @Test func sinceAtTheHeadReplaysNothing() throws {
        let me = uniqueID("current")
        let last = try client.createOrder(token: user(me))
        let s = try session(user(me))
        try s.subscribed("user:\(me)", since: last.seq)
        expectQuiet(s, "a client already up to date")
        let next = try client.createOrder(token: user(me))
        #expect(s.next()?.seq == next.seq)
    }

    @Test func aCursorFromAnotherHistoryOrTheFutureIsExpired() throws {
        let me = uniqueID("stale")
        _ = try client.createOrder(token: user(me))
        let state = try client.poll(token: adminToken)
        let epoch = try #require(state.epoch)
        let s = try session(user(me))
        let cases: [(since: Int, epoch: String?)] = [
            (0, "0000000000000000000000000000beef"),
            (0, ""),
            (state.cursor + 1_000_000, nil),
            (state.cursor + 1_000_000, epoch),
        ]
        for c in cases {
            s.subscribe("user:\(me)", since: c.since, epoch: c.epoch)
            let answer = try #require(s.next(), "\(c)")
            #expect(answer.type == "error", "\(c): \(answer)")
            #expect(answer.code == "cursor_expired", "\(c): \(answer)")
            #expect(answer.channel == "user:\(me)", "\(c)")
        }
        // No events were sent from another history, and the connection is still usable.
        try s.subscribed("user:\(me)", since: 0, epoch: epoch)
        #expect(s.next()?.type == "event")
    }

    @Test func subscribingTwiceDoesNotDeliverTwice() throws {
        let me = uniqueID("twice")
        let s = try session(user(me))
        try s.subscribed("user:\(me)")
        try s.subscribed("user:\(me)")
        let created = try client.createOrder(token: user(me))
        #expect(s.next()?.seq == created.seq)
        expectQuiet(s, "a client subscribed twice")
    }

    @Test func oneConnectionGetsAnEventOncePerChannelItFollows() throws {
        let owner = uniqueID("both")
        let s = try session(adminToken)
        try s.subscribed("admin")
        try s.subscribed("user:\(owner)")
        let created = try client.createOrder(token: user(owner))
        var channels: [String] = []
        while channels.count < 2, let m = s.next() {
            if m.orderID == created.id { channels.append(m.channel ?? "?") }
        }
        #expect(channels.sorted() == ["admin", "user:\(owner)"])
    }

    @Test func aMessageOverTheLimitGetsClose1009() throws {
        let s = try session(adminToken)
        let big = #"{"type":"subscribe","channel":"admin","pad":""# + String(repeating: "p", count: 1024 * 1024) + #""}"#
        s.send(big)
        #expect(s.next() == nil)
        #expect(s.closeFrame?.closeCode == 1009)
        #expect(s.client.waitForEOF())
    }
}
