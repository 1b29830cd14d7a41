import Auth
import HTTP1
import JSON
import OpenSSLKit
import Orders
import Storage

/// `GET /api/orders?since=N&epoch=E&limit=L`: the polling fallback of docs/PROTOCOL.md §5,
/// read from the event log. The query is checked on the loop; a poll with nothing new is
/// answered there from memory; otherwise the answer is one read job (`OrderService` hands it
/// to `StoreReads`), run against the store it is given, on the loop or on a reader thread.
///
/// The answer is a function of the query (scope, `since`, `limit`) and of where the
/// caller's channel stands: with `since`, of the channel's newest seq (every change to an
/// order appends an event on its owner's channel and on `admin`, so nothing else can change
/// the events listed or the orders' current state); without, of that and the log's head
/// (the cursor). The `ETag` is made of exactly these, so it is computed without reading a
/// single order, and the channel's head is kept in memory (`ChannelHeads`): a poll with
/// nothing new is answered 304 without touching storage. A head in an `ETag` is always the
/// one of the snapshot the body was read from, never newer, so a 304 cannot stand for a
/// body that lacks an event.
struct PollingEndpoint: Sendable {
    let pollLimit: Int
    /// Shared by every loop and the reader threads (it has its own lock).
    let heads: ChannelHeads

    /// A poll's query, checked.
    struct Query: Sendable {
        let userScope: String?
        let channel: String
        let since: Int64?
        let limit: Int
        /// The `epoch` the client sent, if any.
        let epoch: String?
        let ifNoneMatch: String?
    }

    enum Checked {
        case query(Query)
        /// The query is refused: this is the answer.
        case refused(HTTPResponse)
    }

    func check(_ request: HTTPRequest, claims: Claims) -> Checked {
        let userScope = claims.role == .user ? claims.sub : nil
        var since: Int64?
        if let raw = request.queryValue("since") {
            guard let v = Int64(raw), v >= 0 else {
                return .refused(.error(.badRequest, code: "bad_request", message: "since must be a non-negative integer"))
            }
            since = v
        }
        var limit = pollLimit
        if let raw = request.queryValue("limit") {
            guard let v = Int(raw), v >= 1, v <= pollLimit else {
                return .refused(.error(.badRequest, code: "bad_request", message: "limit must be an integer from 1 to \(pollLimit)"))
            }
            limit = v
        }
        return .query(Query(userScope: userScope, channel: userScope.map(Channel.user) ?? Channel.admin, since: since,
                            limit: limit, epoch: request.queryValue("epoch"), ifNoneMatch: request.headers["If-None-Match"]))
    }

    /// The 304 when nothing changed since the caller's copy, answered from memory on the
    /// loop; nil when the answer must be read. `epoch`: the history's, once known (nil
    /// before the database was first reached, or when the client names another epoch,
    /// which the read answers with 410).
    func notModifiedFromMemory(_ q: Query, epoch: String?) -> HTTPResponse? {
        guard let ifNoneMatch = q.ifNoneMatch, let epoch, !epoch.isEmpty, q.epoch == nil || q.epoch == epoch,
              let channelHead = heads.head(of: q.channel),
              let head = q.since != nil ? 0 : (q.userScope == nil ? channelHead : heads.head(of: Channel.admin)) else { return nil }
        let etag = Version(epoch: epoch, scope: Self.etagScope(q.userScope), since: q.since, limit: q.limit)
            .etag(channelHead: channelHead, head: head)
        return Self.etagMatches(ifNoneMatch, etag) ? Self.notModified(etag) : nil
    }

    /// The answer, read from `store`.
    func poll(_ q: Query, store: any OrderStore) throws -> HTTPResponse {
        let epoch = store.epoch
        let (userScope, channel, since, limit, ifNoneMatch) = (q.userScope, q.channel, q.since, q.limit, q.ifNoneMatch)
        // An empty epoch: a shared database not reached yet; the read below answers 503.
        if let e = q.epoch, !epoch.isEmpty, e != epoch, since != nil {
            return APIResponses.cursorExpired("this cursor belongs to another event history (epoch); reload without since")
        }
        let version = Version(epoch: epoch, scope: Self.etagScope(userScope), since: since, limit: limit)
        // Opened before the read, so no event committed meanwhile is missed (see ChannelHeads).
        heads.opening(channel)
        var w = JSONWriter(reservingCapacity: 1024)
        let etag: String
        let cursor: Int64
        if let since {
            let page = try store.pollPage(after: since, userId: userScope, limit: limit)
            guard since >= page.heads.retainedFloor, since <= page.heads.head else {
                return APIResponses.cursorExpired("events after \(since) are no longer retained; reload without since")
            }
            heads.learned(channel, head: page.heads.channel)
            etag = version.etag(channelHead: page.heads.channel, head: 0)
            if let ifNoneMatch, Self.etagMatches(ifNoneMatch, etag) { return Self.notModified(etag) }
            cursor = page.events.last?.seq ?? since
            // The stored JSON of each order and event, copied as is.
            w = JSONWriter(reservingCapacity: 128 + page.orders.reduce(0) { $0 + $1.count }
                               + page.events.reduce(0) { $0 + $1.orderJSON.count + 96 + channel.utf8.count })
            w.appendRaw(#"{"orders":["#)
            for (i, order) in page.orders.enumerated() {
                if i > 0 { w.append(UInt8(ascii: ",")) }
                w.appendRaw(order)
            }
            w.appendRaw(#"],"events":["#)
            for (i, event) in page.events.enumerated() {
                if i > 0 { w.append(UInt8(ascii: ",")) }
                PushMessage.append(event, channel: channel, to: &w)
            }
        } else {
            if userScope != nil { heads.opening(Channel.admin) }
            // The heads first: the orders, read after, are at least as new as the
            // version the ETag names.
            let snapshot = try store.pollHeads(userId: userScope)
            heads.learned(channel, head: snapshot.channel)
            if userScope != nil { heads.learned(Channel.admin, head: snapshot.head) }
            etag = version.etag(channelHead: snapshot.channel, head: snapshot.head)
            if let ifNoneMatch, Self.etagMatches(ifNoneMatch, etag) { return Self.notModified(etag) }
            let orders = try store.orders(userId: userScope, limit: OrdersAPI.maxListedOrders)
            cursor = snapshot.head
            w.appendRaw(#"{"orders":["#)
            for (i, order) in orders.enumerated() {
                if i > 0 { w.append(UInt8(ascii: ",")) }
                order.appendJSON(to: &w)
            }
            w.appendRaw(#"],"events":["#)
        }
        w.appendRaw(#"],"cursor":"#)
        w.writeInteger(cursor)
        w.appendRaw(#","epoch":"#)
        w.writeString(epoch)
        w.appendRaw(#","pollIntervalMs":5000}"#)
        var response = HTTPResponse.json(.ok, w.bytes)
        response.headers.add("ETag", etag)
        response.headers.add("Cache-Control", "no-cache")
        return response
    }

    /// What names one polling answer, but for where the channel stands.
    struct Version {
        let epoch: String
        let scope: String
        let since: Int64?
        let limit: Int

        /// `"<epoch, 12 digits>-<scope>-<since>-<limit>-<channel head>"` with `since`, else
        /// `"<epoch>-<scope>-all-<log head>-<channel head>"`: epoch and seqs, so the same
        /// on every node and across restarts.
        func etag(channelHead: Int64, head: Int64) -> String {
            if let since {
                return "\"\(epoch.prefix(12))-\(scope)-\(since)-\(limit)-\(channelHead)\""
            }
            return "\"\(epoch.prefix(12))-\(scope)-all-\(head)-\(channelHead)\""
        }
    }

    static func notModified(_ etag: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("ETag", etag)
        return HTTPResponse(status: .notModified, headers: headers)
    }

    /// Who the answer is for, in its ETag: "a" for the admin view, else a hash of the user's
    /// sub, so two users' lists (same URL, same head, same count) never share an ETag and a
    /// browser cache revalidating one user's copy cannot be told the other's is current.
    static func etagScope(_ userScope: String?) -> String {
        guard let userScope else { return "a" }
        return "u" + Hex.encode(Digest.sha256(Array(userScope.utf8)).prefix(8))
    }

    static func etagMatches(_ header: String, _ etag: String) -> Bool {
        EntityTag.matches(ifNoneMatch: header, etag)
    }
}
