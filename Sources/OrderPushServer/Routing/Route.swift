/// Every path the server answers, decided from the path alone; the method is checked
/// afterwards so a known path with the wrong method gets 405 with `Allow`, not 404.
enum Route: Equatable {
    case healthz
    case metrics
    case orders                 // POST create, GET poll
    case ordersManage           // GET legacy list
    case ordersSearch           // GET search page
    case order(id: String)      // GET one
    case orderTracking(id: String) // PUT tracking
    case push                   // GET /ws
    case events                 // GET /api/events (Server-Sent Events)
    case echo                   // GET /ws/echo (--echo)
    case broadcast              // GET /ws/broadcast (--bench)
    case publish                // POST /publish (--bench)
    case page(String)           // a file of web/

    var allowedMethods: [String] {
        switch self {
        case .orders: return ["GET", "POST"]
        case .orderTracking: return ["PUT"]
        case .publish: return ["POST"]
        case .push, .events, .echo, .broadcast: return ["GET"]
        case .healthz, .metrics, .ordersManage, .ordersSearch, .order, .page: return ["GET", "HEAD"]
        }
    }

    /// nil: no such path (404).
    static func match(path: String, echoEnabled: Bool, benchEnabled: Bool) -> Route? {
        switch path {
        case "/healthz": return .healthz
        case "/metrics": return .metrics
        case "/api/orders": return .orders
        case "/api/orders/manage": return .ordersManage
        case "/api/orders/search": return .ordersSearch
        case "/api/events": return .events
        case "/ws": return .push
        case "/ws/echo": return echoEnabled ? .echo : nil
        case "/ws/broadcast": return benchEnabled ? .broadcast : nil
        case "/publish": return benchEnabled ? .publish : nil
        case "/": return .page("index.html")
        case "/admin": return .page("admin.html")
        case "/track": return .page("track.html")
        default: break
        }
        let prefix = "/api/orders/"
        if path.hasPrefix(prefix) {
            let rest = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
            if rest.count == 1, isOrderID(rest[0]) { return .order(id: String(rest[0])) }
            if rest.count == 2, rest[1] == "tracking", isOrderID(rest[0]) { return .orderTracking(id: String(rest[0])) }
            return nil
        }
        if path.hasPrefix("/api/") || path.hasPrefix("/ws/") { return nil }
        return .page(String(path.dropFirst()))
    }

    private static func isOrderID(_ s: Substring) -> Bool {
        !s.isEmpty && s.count <= 64 && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
    }
}
