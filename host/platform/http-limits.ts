/**
 * Limits every listening server of the emulator shares against slow or
 * malformed peers: how long a request's headers and whole request may take
 * (Node's `headersTimeout` / `requestTimeout`, checked often enough that a
 * short test value means something), and the answer to a request Node's
 * parser refuses (a raw NUL in the path, a header overflow, a timeout).
 */
import type { Duplex } from "node:stream"

/** Headers and whole requests time out after 30 s by default. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000

/** The two time limits, in ms. */
export interface RequestTimeouts {
    /** from the first byte until the whole request (body included) is read */
    requestTimeoutMs: number
    /** from the first byte until the headers are read (at most requestTimeoutMs) */
    headersTimeoutMs: number
}

/** Fills in the 30 s defaults; throws on a value that is not a positive number. */
export function requestTimeouts(
    o: Partial<RequestTimeouts> = {}
): RequestTimeouts {
    const request = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    const headers = o.headersTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    for (const [name, v] of [
        ["requestTimeoutMs", request],
        ["headersTimeoutMs", headers],
    ] as const)
        if (!Number.isFinite(v) || v < 1)
            throw new RangeError(`${name} must be a positive number of ms`)
    return {
        requestTimeoutMs: Math.round(request),
        // Node refuses a headers timeout longer than the request timeout
        headersTimeoutMs: Math.round(Math.min(headers, request)),
    }
}

/** Options for `http(s).createServer` that enforce the time limits. */
export function timeoutServerOptions(t: RequestTimeouts) {
    return {
        requestTimeout: t.requestTimeoutMs,
        headersTimeout: t.headersTimeoutMs,
        // Node checks the limits on this interval (default 30 s, which would
        // let a 30 s limit run to 60 s)
        connectionsCheckingInterval: Math.max(
            10,
            Math.min(1000, Math.floor(t.headersTimeoutMs / 4))
        ),
    }
}

/** The HTTP status Node would answer a client error with. */
export function clientErrorStatus(code: string | undefined): number {
    if (code === "ERR_HTTP_REQUEST_TIMEOUT") return 408
    if (code === "HPE_HEADER_OVERFLOW") return 431
    return 400
}

const STATUS_TEXT: Record<number, string> = {
    400: "Bad Request",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
}

/**
 * Answers a request Node's parser refused (a `clientError`): the status
 * Node would send, `body` (JSON) if given, then closes the connection.
 */
export function answerClientError(socket: Duplex, status: number, body = "") {
    const headerSent = (socket as any)._httpMessage?._headerSent
    if (socket.writable && !headerSent) {
        const type = body
            ? "Content-Type: application/json;charset=UTF-8\r\n"
            : ""
        socket.end(
            `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\n${type}` +
                `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
        )
    }
    // a peer that never reads must not keep the socket
    setTimeout(() => socket.destroy(), 1000).unref()
}
