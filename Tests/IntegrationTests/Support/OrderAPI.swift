import Foundation

/// The order API of docs/PROTOCOL.md §4 as a test sees it: requests with a bearer token, order
/// bodies, and the fields of answers.
extension TestClient {
    /// A request with `Authorization: Bearer token` (none when `token` is nil) and a
    /// JSON body given as text.
    func call(_ method: String, _ path: String, token: String?, json: String? = nil,
              headers: [String: String] = [:]) -> Response? {
        var all = headers
        if let token { all["Authorization"] = "Bearer " + token }
        if json != nil { all["Content-Type"] = "application/json" }
        return request(method, path, headers: all, body: json.map { Array($0.utf8) } ?? [])
    }

    /// `POST /api/orders`; fails the calling test unless the answer is 201.
    func createOrder(token: String, body: String = OrderBody.simple(),
                     headers: [String: String] = [:]) throws -> CreatedOrder {
        guard let r = call("POST", "/api/orders", token: token, json: body, headers: headers) else {
            throw TestFailure("no answer to POST /api/orders")
        }
        guard r.status == 201, let order = r.json?["order"] as? [String: Any], let id = order["id"] as? String,
              let seq = r.json?["seq"] as? Int else {
            throw TestFailure("POST /api/orders gave \(r.status): \(r.text)")
        }
        return CreatedOrder(id: id, seq: seq, order: order, response: r)
    }

    /// `PUT /api/orders/{id}/tracking`; fails the calling test unless the answer is 200.
    func updateTracking(_ id: String, token: String, body: String) throws -> (seq: Int, order: [String: Any]) {
        guard let r = call("PUT", "/api/orders/\(id)/tracking", token: token, json: body) else {
            throw TestFailure("no answer to PUT tracking")
        }
        guard r.status == 200, let order = r.json?["order"] as? [String: Any], let seq = r.json?["seq"] as? Int else {
            throw TestFailure("PUT tracking gave \(r.status): \(r.text)")
        }
        return (seq, order)
    }

    /// `GET /api/orders?...` decoded; fails unless 200.
    func poll(token: String, query: String = "", headers: [String: String] = [:]) throws -> PollAnswer {
        let path = query.isEmpty ? "/api/orders" : "/api/orders?" + query
        guard let r = call("GET", path, token: token, headers: headers) else { throw TestFailure("no answer to GET \(path)") }
        guard r.status == 200, let json = r.json else { throw TestFailure("GET \(path) gave \(r.status): \(r.text)") }
        return PollAnswer(json: json, etag: r.header("ETag"))
    }

    /// Every event after `since` visible to `token`, paging with `limit`.
    func pollAll(token: String, since: Int, limit: Int = 500) throws -> [[String: Any]] {
        var events: [[String: Any]] = []
        var cursor = since
        while true {
            let page = try poll(token: token, query: "since=\(cursor)&limit=\(limit)")
            events += page.events
            guard page.cursor != cursor, !page.events.isEmpty else { return events }
            cursor = page.cursor
        }
    }

    /// The newest `seq` of the whole log (the cursor of a poll without `since` as admin).
    func head(adminToken: String) throws -> Int {
        try poll(token: adminToken).cursor
    }
}

extension TestClient.Response {
    /// The `message` of an error answer, or "".
    var errorMessage: String { (json?["error"] as? [String: Any])?["message"] as? String ?? "" }
}

/// What `POST /api/orders` answered.
struct CreatedOrder {
    let id: String
    let seq: Int
    let order: [String: Any]
    let response: TestClient.Response
}

/// A decoded polling answer.
struct PollAnswer {
    let json: [String: Any]
    let etag: String?
    var orders: [[String: Any]] { json["orders"] as? [[String: Any]] ?? [] }
    var events: [[String: Any]] { json["events"] as? [[String: Any]] ?? [] }
    var cursor: Int { json["cursor"] as? Int ?? -1 }
    var epoch: String? { json["epoch"] as? String }
    var seqs: [Int] { events.compactMap { $0["seq"] as? Int } }
}

/// Order request bodies.
enum OrderBody {
    /// One item, cash on delivery; `extra` is spliced in as further members.
    static func simple(userId: String? = nil, note: String = "", extra: String = "") -> String {
        var members = [#""items":[{"productId":"p1","name":"Tea","quantity":2,"price":120.0}]"#, #""paymentMethod":"cod""#]
        if let userId { members.append(#""userId":"\#(userId)""#) }
        if !note.isEmpty { members.append(#""metadata":{"note":"\#(note)"}"#) }
        if !extra.isEmpty { members.append(extra) }
        return "{" + members.joined(separator: ",") + "}"
    }
}

/// A unique id per test, so tests sharing a server never see each other's orders.
func uniqueID(_ prefix: String) -> String {
    prefix + "-" + UUID().uuidString.prefix(8).lowercased()
}

/// Deep equality of decoded JSON values: both written back with sorted keys.
func jsonEqual(_ a: Any?, _ b: Any?) -> Bool {
    guard let a, let b else { return a == nil && b == nil }
    let options: JSONSerialization.WritingOptions = [.sortedKeys, .fragmentsAllowed]
    guard let x = try? JSONSerialization.data(withJSONObject: a, options: options),
          let y = try? JSONSerialization.data(withJSONObject: b, options: options) else { return false }
    return x == y
}

/// `text` as a JSON string literal, quotes included.
func jsonString(_ text: String) -> String {
    let data = try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])
    return data.map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
}

/// A JSON text decoded, for comparing with what the server sent back.
func decodeJSON(_ text: String) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
}

extension TestClient {
    /// Changes the receive timeout of this socket (the initial one is set at connect).
    func setReceiveTimeout(milliseconds: Int) {
        var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: Int((milliseconds % 1000) * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
}
