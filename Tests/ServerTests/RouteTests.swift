import Testing
@testable import OrderPushServer

/// `Route.match`: every path the server answers, decided from the path alone.
@Suite struct RouteTests {
    private func match(_ path: String, echo: Bool = false, bench: Bool = false) -> Route? {
        Route.match(path: path, echoEnabled: echo, benchEnabled: bench)
    }

    @Test func fixedPaths() {
        #expect(match("/healthz") == .healthz)
        #expect(match("/metrics") == .metrics)
        #expect(match("/api/orders") == .orders)
        #expect(match("/api/orders/manage") == .ordersManage)
        #expect(match("/ws") == .push)
    }

    @Test func pages() {
        #expect(match("/") == .page("index.html"))
        #expect(match("/admin") == .page("admin.html"))
        #expect(match("/track") == .page("track.html"))
        #expect(match("/orderpush.js") == .page("orderpush.js"))
        #expect(match("/css/site.css") == .page("css/site.css"))
    }

    @Test func orderPaths() {
        #expect(match("/api/orders/ord_0123456789abcdef") == .order(id: "ord_0123456789abcdef"))
        #expect(match("/api/orders/ord_0123456789abcdef/tracking") == .orderTracking(id: "ord_0123456789abcdef"))
        #expect(match("/api/orders/A-z_9") == .order(id: "A-z_9"))
    }

    @Test func malformedOrderPathsAreNotFound() {
        #expect(match("/api/orders/") == nil)
        #expect(match("/api/orders//tracking") == nil)
        #expect(match("/api/orders/ord_1/history") == nil)
        #expect(match("/api/orders/ord_1/tracking/x") == nil)
        #expect(match("/api/orders/ord.1") == nil)
        #expect(match("/api/orders/ord%201") == nil)
        #expect(match("/api/orders/" + String(repeating: "a", count: 65)) == nil)
        #expect(match("/api/orders/" + String(repeating: "a", count: 64)) == .order(id: String(repeating: "a", count: 64)))
    }

    @Test func unknownAPIAndWebSocketPathsAreNotPages() {
        #expect(match("/api/unknown") == nil)
        #expect(match("/api/") == nil)
        #expect(match("/ws/other") == nil)
    }

    @Test func optionalEndpointsExistOnlyWhenEnabled() {
        #expect(match("/ws/echo") == nil)
        #expect(match("/ws/broadcast") == nil)
        #expect(match("/publish") == nil)
        #expect(match("/ws/echo", echo: true) == .echo)
        #expect(match("/ws/broadcast", bench: true) == .broadcast)
        #expect(match("/publish", bench: true) == .publish)
        #expect(match("/ws/echo", bench: true) == nil)
    }

    @Test func allowedMethods() {
        #expect(Route.orders.allowedMethods == ["GET", "POST"])
        #expect(Route.orderTracking(id: "x").allowedMethods == ["PUT"])
        #expect(Route.publish.allowedMethods == ["POST"])
        for route in [Route.push, .echo, .broadcast] { #expect(route.allowedMethods == ["GET"]) }
        for route in [Route.healthz, .metrics, .ordersManage, .order(id: "x"), .page("a")] {
            #expect(route.allowedMethods == ["GET", "HEAD"])
        }
    }
}
