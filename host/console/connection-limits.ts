/**
 * The console's sockets, bounded: a connection that is not carrying a
 * request (it sent nothing yet, is half-way through its headers, or waits
 * between keep-alive requests) is closed after an idle timeout, and at most
 * `maxConnections` are open. A connection beyond the cap takes the place of
 * the one idle for longest, as nginx reuses keep-alive connections when it
 * runs short, so idle holders cannot lock out a real request; only when
 * every connection is busy (open event streams, requests in flight) is the
 * newcomer closed.
 */
import type { Server, ServerOptions } from "node:http"
import type { Socket } from "node:net"

/** Connections open at most, by default. */
export const MAX_CONNECTIONS = 128
/** Milliseconds a connection may carry no request, by default. */
export const IDLE_TIMEOUT_MS = 10_000
/** Milliseconds a request may take to arrive in full (head and body). */
export const REQUEST_TIMEOUT_MS = 30_000

/** The limits. */
export interface ConnectionLimits {
    maxConnections?: number
    idleTimeoutMs?: number
}

/** Node's own timeouts for `http.createServer`, within the idle timeout. */
export function serverTimeouts(o: ConnectionLimits = {}): ServerOptions {
    const idle = o.idleTimeoutMs ?? IDLE_TIMEOUT_MS
    return {
        headersTimeout: idle,
        requestTimeout: Math.max(idle, REQUEST_TIMEOUT_MS),
        keepAliveTimeout: Math.min(idle, 5000),
        connectionsCheckingInterval: Math.min(1000, idle),
    }
}

interface Tracked {
    /** Requests in flight on it. */
    busy: number
    /** When it last became idle (opened or answered), epoch ms. */
    idleSince: number
}

/**
 * Applies the cap and the idle timeout to `server`; the returned function
 * stops the sweep (call it on close).
 */
export function limitConnections(
    server: Server,
    o: ConnectionLimits = {}
): () => void {
    const max = o.maxConnections ?? MAX_CONNECTIONS
    const idleMs = o.idleTimeoutMs ?? IDLE_TIMEOUT_MS
    const open = new Map<Socket, Tracked>()

    server.on("connection", (socket: Socket) => {
        if (open.size >= max) {
            let oldest: Socket | undefined
            let since = Infinity
            for (const [s, t] of open)
                if (!t.busy && t.idleSince < since) {
                    oldest = s
                    since = t.idleSince
                }
            if (!oldest) return void socket.destroy() // every one is busy
            open.delete(oldest)
            oldest.destroy()
        }
        open.set(socket, { busy: 0, idleSince: Date.now() })
        socket.once("close", () => open.delete(socket))
    })
    server.on("request", (req, res) => {
        const t = open.get(req.socket)
        if (!t) return
        t.busy++
        res.once("close", () => {
            t.busy--
            t.idleSince = Date.now()
        })
    })
    const sweep = setInterval(
        () => {
            const now = Date.now()
            for (const [s, t] of open)
                if (!t.busy && now - t.idleSince >= idleMs) {
                    open.delete(s)
                    s.destroy()
                }
        },
        Math.max(50, Math.min(1000, idleMs / 4))
    )
    sweep.unref()
    return () => clearInterval(sweep)
}
