import * as ds from "@devicescript/core"
import { SocketProto } from "@devicescript/net"
import { buildRequest, hostHeader } from "./request"
import {
    BodySink,
    feed,
    HttpError,
    HttpResponse,
    ResponseParser,
} from "./response"
import { Connection, Transport } from "./transport"

export interface HttpClientOptions {
    host: string
    port: number
    /** default "tls" */
    proto?: SocketProto
    /** TCP + TLS handshake bound; default 10000 ms */
    connectTimeoutMs?: number
    /** longest wait for the next bytes of a response; default 10000 ms */
    readTimeoutMs?: number
    /** whole request bound, connect and retry included; default 30000 ms */
    requestTimeoutMs?: number
    /** response size bound (head + framing + body); default 8192 bytes */
    maxResponseBytes?: number
    /** close instead of reusing a connection idle longer than this; 0 (default) = no limit */
    maxIdleMs?: number
    /** awaited before each new connection (e.g. to let another user of the socket finish) */
    beforeConnect?: () => Promise<void>
    /**
     * close the connection whenever the caller is idle ({@link HttpClient.idle}),
     * leaving the device's one socket to another user (fleet OTA)
     */
    releaseWhenIdle?: boolean
}

/** What to send: the client adds `Host` and `Content-Length`. */
export interface ClientRequest {
    method: string
    path: string
    headers?: Record<string, string>
    body?: Buffer | string
    /**
     * Streams the response body here instead of keeping it (the response's
     * `body` is then empty): a body of any size, bounded by the request's
     * time limit instead of `maxResponseBytes`.
     */
    onBody?: BodySink
}

/**
 * Keep-alive HTTP/1.1 client over one connection at a time of the
 * {@link Transport} it is given (`netTransport`: the device's one socket).
 * Every wait is bounded (connect, each read, the whole request); the
 * connection is closed on any error or timeout, and when the
 * server says `Connection: close`. A request on a reused connection that
 * dies before any response byte is sent again once on a new connection
 * (the platform calls are POSTs: the server may, rarely, see it twice).
 * Errors are {@link HttpError}s. Never logs requests (they carry the token).
 */
export class HttpClient {
    private sock: Connection = null
    private lastUsed = 0
    private readonly hostValue: string
    private readonly proto: SocketProto
    private readonly connectTimeoutMs: number
    private readonly readTimeoutMs: number
    private readonly requestTimeoutMs: number
    private readonly maxResponseBytes: number
    private readonly maxIdleMs: number
    /** Connections opened so far. */
    connections = 0
    /** `ds.millis()` when the last complete response arrived (for `Date`). */
    lastResponseMillis = 0

    constructor(
        readonly transport: Transport,
        readonly options: HttpClientOptions
    ) {
        const o = options
        this.proto = o.proto || "tls"
        this.hostValue = hostHeader(o.host, o.port, this.proto === "tls")
        this.connectTimeoutMs =
            o.connectTimeoutMs > 0 ? o.connectTimeoutMs : 10000
        this.readTimeoutMs = o.readTimeoutMs > 0 ? o.readTimeoutMs : 10000
        this.requestTimeoutMs =
            o.requestTimeoutMs > 0 ? o.requestTimeoutMs : 30000
        this.maxResponseBytes =
            o.maxResponseBytes > 0 ? o.maxResponseBytes : 8192
        this.maxIdleMs = o.maxIdleMs > 0 ? o.maxIdleMs : 0
    }

    /** True while a connection is open (it may still turn out dead). */
    isConnected() {
        return this.sock !== null
    }

    /** Sends one request and reads its response. Throws HttpError. */
    async request(req: ClientRequest): Promise<HttpResponse> {
        const bytes = buildRequest({
            method: req.method,
            path: req.path,
            host: this.hostValue,
            headers: req.headers,
            body: req.body,
        })
        const deadline = ds.millis() + this.requestTimeoutMs
        for (let attempt = 0; ; attempt++) {
            let reused = false
            if (this.sock) reused = await this.reusable()
            if (!this.sock) await this.open(deadline)
            const parser = new ResponseParser({
                maxBytes: this.maxResponseBytes,
                headRequest: req.method === "HEAD",
                onBody: req.onBody,
            })
            try {
                const res = await this.exchange(bytes, deadline, parser)
                this.lastUsed = ds.millis()
                this.lastResponseMillis = this.lastUsed
                if (res.connectionClose) await this.close()
                return res
            } catch (e) {
                await this.close()
                const err = asHttpError(e)
                const dead = err.kind === "closed" || err.kind === "network"
                if (
                    reused &&
                    attempt === 0 &&
                    dead &&
                    parser.bytesReceived() === 0
                )
                    continue // stale keep-alive connection: once more, fresh
                throw err
            }
        }
    }

    /**
     * The caller has nothing more to send for now: with `releaseWhenIdle`
     * the connection is closed, else kept alive for the next request.
     */
    async idle() {
        if (this.options.releaseWhenIdle) await this.close()
    }

    /** Closes the connection, if any. */
    async close() {
        const s = this.sock
        this.sock = null
        if (s) await s.close()
    }

    /** Checks an idle connection before reuse; closes it when stale. */
    private async reusable(): Promise<boolean> {
        if (
            this.maxIdleMs > 0 &&
            ds.millis() - this.lastUsed > this.maxIdleMs
        ) {
            await this.close()
            return false
        }
        try {
            // null: the server closed it; a Buffer: bytes nobody asked for
            if ((await this.sock.recv(1)) === undefined) return true
        } catch (e) {}
        await this.close()
        return false
    }

    private async open(deadline: number) {
        const left = deadline - ds.millis()
        if (left <= 0)
            throw new HttpError(
                "timeout",
                "http: request deadline passed before connect"
            )
        const o = this.options
        if (o.beforeConnect) await o.beforeConnect()
        const timeout =
            left < this.connectTimeoutMs ? left : this.connectTimeoutMs
        try {
            this.sock = await this.transport.connect({
                host: o.host,
                port: o.port,
                proto: this.proto,
                timeout,
            })
        } catch (e) {
            const msg = (e as Error).message + ""
            const kind = msg.indexOf("Timeout") >= 0 ? "timeout" : "network"
            throw new HttpError(
                kind,
                `http: connect to ${o.host}:${o.port} failed: ${msg}`
            )
        }
        this.connections++
        this.lastUsed = ds.millis()
    }

    private async exchange(
        bytes: Buffer,
        deadline: number,
        parser: ResponseParser
    ) {
        const sock = this.sock
        await sock.send(bytes)
        for (;;) {
            const left = deadline - ds.millis()
            if (left <= 0)
                throw new HttpError("timeout", "http: request deadline passed")
            const wait = left < this.readTimeoutMs ? left : this.readTimeoutMs
            const chunk = await sock.recv(wait)
            if (chunk === undefined)
                throw new HttpError("timeout", `http: no data for ${wait} ms`)
            if (chunk === null) {
                parser.end() // completes a body delimited by close, or throws
                const res = parser.result()
                res.connectionClose = true
                return res
            }
            const used = await feed(parser, chunk)
            if (parser.done()) {
                const res = parser.result()
                // bytes after the response: out of step, do not reuse
                if (used < chunk.length) res.connectionClose = true
                return res
            }
        }
    }
}

/** Wraps socket errors (plain Errors) as HttpError "network". */
export function asHttpError(e: any): HttpError {
    if (e instanceof HttpError) return e
    const msg = e instanceof Error ? (e as Error).message : "" + e
    return new HttpError("network", `http: ${msg}`)
}
