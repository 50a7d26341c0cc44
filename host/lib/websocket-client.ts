/**
 * The host tools' one WebSocket client, on the `ws` package: the simulator
 * harness's dev tools channel, Jacdac frames to the simulator's bus, and
 * the fleet's protocol-level fake devices. Handlers are attached before the
 * connection opens, so a message the server sends with its upgrade answer
 * (the fleet service's hello) is never missed.
 */
import WebSocket from "ws"

export { WebSocket }

/** A normal close (RFC 6455 section 7.4.1). */
export const CLOSE_NORMAL = 1000
/** What `ws` reports when the connection ended without a close frame. */
export const CLOSE_ABNORMAL = 1006

export interface OpenWebSocketOptions {
    /** Subprotocols offered (`Sec-WebSocket-Protocol`). */
    protocols?: string[]
    /** Called for every message, text or binary. */
    onMessage?: (data: Buffer, binary: boolean) => void
    /** Called once when an opened connection ends (a failed open rejects instead). */
    onClose?: (code: number, reason: string) => void
    /** Called on protocol and socket errors after the connection opened. */
    onError?: (e: Error) => void
    /** Local address to connect from (e.g. 127.0.0.2: one of many loopback peers). */
    localAddress?: string
    /** CA certificates a `wss://` server's chain must lead to (default: Node's). */
    ca?: string | Buffer
}

/** A connection being opened: the socket at once, `opened` when usable. */
export interface WebSocketConnection {
    ws: WebSocket
    /**
     * Resolves when the connection is open. Rejects with the connection
     * error, or with `refused: HTTP/1.1 <status> <text>` when the server
     * answers the upgrade with a plain HTTP response.
     */
    opened: Promise<void>
}

/** Connects to `url` (`ws://` or `wss://`) with the handlers attached first. */
export function connectWebSocket(
    url: string,
    o: OpenWebSocketOptions = {}
): WebSocketConnection {
    const ws = new WebSocket(url, o.protocols ?? [], {
        perMessageDeflate: false,
        localAddress: o.localAddress,
        ...(o.ca ? { ca: o.ca } : {}),
    })
    let refusal: string | undefined
    let isOpen = false
    ws.on("message", (data: Buffer, binary: boolean) =>
        o.onMessage?.(data, binary)
    )
    ws.on("close", (code: number, reason: Buffer) => {
        if (isOpen) o.onClose?.(code, reason.toString("utf8"))
    })
    const opened = new Promise<void>((resolve, reject) => {
        ws.on("unexpected-response", (req, res) => {
            refusal = `refused: HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage}`
            // ws then reports the error and the close
            req.destroy(new Error(refusal))
        })
        ws.on("error", e => {
            if (isOpen) o.onError?.(e)
            else reject(refusal ? new Error(refusal) : e)
        })
        ws.once("open", () => {
            isOpen = true
            resolve()
        })
    })
    return { ws, opened }
}

/** Connects to `url` and resolves with the open socket (see {@link connectWebSocket}). */
export async function openWebSocket(
    url: string,
    o: OpenWebSocketOptions = {}
): Promise<WebSocket> {
    const c = connectWebSocket(url, o)
    await c.opened
    return c.ws
}

/**
 * Sends a normal close and resolves when the connection has ended; a peer
 * that does not answer the close within `ms` loses the socket.
 */
export function closeWebSocket(ws: WebSocket, ms = 1000): Promise<void> {
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise(resolve => {
        const t = setTimeout(() => ws.terminate(), ms)
        ws.once("close", () => {
            clearTimeout(t)
            resolve()
        })
        if (ws.readyState === WebSocket.OPEN) ws.close(CLOSE_NORMAL)
        else if (ws.readyState !== WebSocket.CLOSING) ws.terminate()
    })
}
