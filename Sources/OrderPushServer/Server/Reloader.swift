import Auth
import Logging
import OpenSSLKit

/// SIGHUP: re-reads the signing keys, the TLS certificate and key and the session-ticket key
/// file, and hands them to every loop. Runs on loop 0 (the signal handler's loop) only.
///
/// How new material reaches the loops: through their mailboxes (`LoopMessage`), not through
/// a shared snapshot swapped atomically. Each loop then owns its copy: a request reads its
/// loop's `Authenticator` and a new connection its loop's `TLSContext` as plain loop-local
/// values, with no lock or atomic on those paths, and the switch happens between two
/// mailbox messages, so within a loop nothing sees half of a reload. A loop handles the
/// message at its next turn; requests already parsed by then use the old keys, which were
/// valid a moment ago anyway.
///
/// - Keys: read once here into an immutable `JWTKeySet` (`Sendable`), the same value
///   posted to every loop.
/// - TLS: an `SSL_CTX` stays owned by one loop (see `addListeners`), so each loop builds its
///   own from the files. This loop builds first: if the files cannot be read or do not
///   match, nothing is posted and every loop keeps its context. A loop that still fails
///   (the files changed again in between) keeps its old context and logs why.
/// - Ticket keys (`--tls-ticket-key-file`): read here into an immutable `TLSTicketKeys`,
///   posted with the certificate paths, so every loop's new context has the same keys. The
///   key being replaced stays as `previous`: tickets issued under it still resume (and get a
///   new ticket), so a rotation costs no full handshakes. A bad file keeps the old keys (the
///   certificate is still reloaded); a certificate that fails keeps the old keys too, since
///   they live in the context.
/// - Open connections keep what they started with: a `TLSSession` holds its own reference
///   to the context it was made from, and a WebSocket was authenticated at its upgrade.
///
/// A file that cannot be read or parsed changes nothing and is logged with the reason.
/// The reading happens on loop 0, between two of its turns: a few small files and one
/// `SSL_CTX`, about a millisecond, once per SIGHUP; not worth a thread of its own.
final class Reloader {
    private let config: ServerConfig
    private let keySource: JWTKeySource
    /// The keys every loop has (or is about to have): the base of the next reload.
    private var keys: JWTKeySet
    /// The ticket keys every loop's TLS context has (or is about to have).
    private var ticketKeys: TLSTicketKeys
    private let group: LoopGroup
    private let logger: Logger

    init(config: ServerConfig, keySource: JWTKeySource, keys: JWTKeySet, ticketKeys: TLSTicketKeys, group: LoopGroup, logger: Logger) {
        self.config = config
        self.keySource = keySource
        self.keys = keys
        self.ticketKeys = ticketKeys
        self.group = group
        self.logger = logger
    }

    func reload(on loop: ServerLoop) {
        logger.info("SIGHUP received: reloading the signing keys\(config.tlsCertificatePath == nil ? "" : " and the TLS certificate")")
        reloadKeys()
        reloadTLS(on: loop)
    }

    private func reloadKeys() {
        let fresh: JWTKeySet
        do {
            fresh = try keySource.reload(previous: keys)
        } catch {
            logger.error("signing keys NOT reloaded, the previous ones stay in use: \(error)")
            return
        }
        warnAboutShortKeys(fresh, logger: logger)
        keys = fresh
        group.postToAll(.service(.signingKeys(fresh)))
        logger.info("signing keys reloaded: \(fresh.summary)")
    }

    private func reloadTLS(on loop: ServerLoop) {
        guard let certificate = config.tlsCertificatePath, let privateKey = config.tlsPrivateKeyPath else { return }
        var freshTicketKeys = ticketKeys
        var ticketKeyNote = ""
        if let path = config.tlsTicketKeyPath {
            do {
                let key = try TLSTicketKeyFile.load(path: path)
                freshTicketKeys = ticketKeys.rotated(to: key)
                ticketKeyNote = freshTicketKeys == ticketKeys
                    ? "; TLS ticket key unchanged"
                    : "; TLS ticket key rotated from \(path) (tickets under the previous key still resume)"
            } catch {
                logger.error("TLS ticket key NOT reloaded, the previous one stays in use: \(error)")
            }
        }
        let context: TLSContext
        do {
            context = try TLSContext(certificateChainPath: certificate, privateKeyPath: privateKey, ticketKeys: freshTicketKeys)
        } catch {
            logger.error("TLS certificate NOT reloaded, the previous one stays in use (and so does the ticket key): \(error)")
            return
        }
        ticketKeys = freshTicketKeys
        loop.replaceTLSContext(context)
        for (index, mailbox) in group.mailboxes.enumerated() where index != loop.index {
            mailbox.post(.reloadTLS(certificateChainPath: certificate, privateKeyPath: privateKey, ticketKeys: freshTicketKeys))
        }
        logger.info("TLS certificate reloaded from \(certificate) (new connections use it; open ones keep theirs)\(ticketKeyNote)")
    }
}
