import Testing
import WebSocket

/// The server's side of the RFC 7692 negotiation: what each offer browsers and libraries
/// send is answered with, and which offers are declined.
@Suite struct PerMessageDeflateTests {
    private func negotiate(_ headers: String...) -> (parameters: DeflateParameters, response: String)? {
        PerMessageDeflate.negotiate(offers: headers)
    }

    @Test func plainOfferIsAcceptedWithNoContextTakeoverBothWays() throws {
        // The client is asked not to keep context even though it did not offer to (§7.1.1.2),
        // so no inflater outlives a message.
        let result = try #require(negotiate("permessage-deflate"))
        #expect(result.parameters == DeflateParameters(serverWindowBits: 15, clientWindowBits: 15, clientNoContextTakeover: true))
        #expect(result.response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    }

    @Test func chromiumOfferLeavesTheClientWindowAt15() throws {
        // Chromium and Firefox: client_max_window_bits without a value.
        let result = try #require(negotiate("permessage-deflate; client_max_window_bits"))
        #expect(result.parameters.clientWindowBits == 15)
        #expect(result.response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    }

    @Test func clientWindowValueIsUsedForInflatingAndConfirmed() throws {
        let result = try #require(negotiate("permessage-deflate; client_max_window_bits=10"))
        #expect(result.parameters.clientWindowBits == 10)
        #expect(result.parameters.inflation == InflateSettings(windowBits: 10, noContextTakeover: true))
        #expect(result.response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10")
    }

    @Test func serverWindowIsHonoured() throws {
        let result = try #require(negotiate("permessage-deflate; server_max_window_bits=9"))
        #expect(result.parameters.serverWindowBits == 9)
        #expect(result.response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9")
    }

    @Test func contextTakeoverParametersAreAccepted() throws {
        let result = try #require(negotiate("permessage-deflate; server_no_context_takeover; client_no_context_takeover"))
        #expect(result.parameters.inflation.noContextTakeover)
        #expect(result.response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        #expect(negotiate("permessage-deflate; client_no_context_takeover")?.response == result.response)
    }

    @Test func everyParameterTogetherInAnyCaseAndQuoted() throws {
        // ws (Node) sends this one; parameter names are case-insensitive, values may be quoted.
        let result = try #require(negotiate(#"Permessage-Deflate ;Client_Max_Window_Bits="12"; server_max_window_bits=14 ; CLIENT_NO_CONTEXT_TAKEOVER"#))
        #expect(result.parameters == DeflateParameters(serverWindowBits: 14, clientWindowBits: 12, clientNoContextTakeover: true))
    }

    @Test(arguments: [
        "permessage-deflate; server_max_window_bits",          // value required
        "permessage-deflate; server_max_window_bits=8",        // zlib has no raw 8-bit window
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",      // leading zero
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=\"\"",
        "permessage-deflate; server_no_context_takeover=1",     // takes no value
        "permessage-deflate; client_no_context_takeover=true",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",   // duplicate
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; unknown_parameter",
        "permessage-deflate; client_max_window_bits=\"1 0\"",
        "x-webkit-deflate-frame",
        "",
    ])
    func invalidOffersAreDeclined(offer: String) {
        #expect(negotiate(offer) == nil)
    }

    @Test func aDeclinedOfferFallsBackToTheNextInTheSameHeader() throws {
        let result = try #require(negotiate("permessage-deflate; server_max_window_bits=8; client_max_window_bits, permessage-deflate; client_max_window_bits"))
        #expect(result.parameters.serverWindowBits == 15)
        #expect(result.response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    }

    @Test func offersSpreadOverSeveralHeadersAreTriedInOrder() throws {
        let result = try #require(negotiate("x-custom; a=1", "permessage-deflate; bogus", "permessage-deflate; server_max_window_bits=11"))
        #expect(result.parameters.serverWindowBits == 11)
    }

    @Test func theFirstAcceptableOfferWins() throws {
        // Autobahn 13.7: several offers, the first acceptable one is taken.
        let result = try #require(negotiate("permessage-deflate; server_no_context_takeover; server_max_window_bits=9, permessage-deflate; server_no_context_takeover, permessage-deflate"))
        #expect(result.parameters.serverWindowBits == 9)
    }

    @Test func commasInsideQuotedValuesDoNotSplitOffers() {
        // The quoted value is one (invalid) parameter, not two offers.
        #expect(negotiate(#"permessage-deflate; client_max_window_bits="10, permessage-deflate""#) == nil)
    }
}
