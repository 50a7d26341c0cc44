import * as ds from "@devicescript/core"
import { SocketConnectOptions } from "@devicescript/net"
import { Connection, Transport } from "../../src/http/transport"

/** A request as the scripted server received it. */
export interface SeenRequest {
    /** number of the connection it came on (1 = first) */
    connection: number
    method: string
    path: string
    /** the head: request line and headers */
    head: string
    body: string
}

/**
 * What the server does with a request: the raw response to send, or
 * `null` to close the connection without answering (the request is then
 * recorded in `lost`, not in `requests`).
 */
export type Responder = (req: SeenRequest) => string

/** A raw HTTP/1.1 response with a Content-Length. */
export function httpResponse(status: number, body: string, extra = ""): string {
    return (
        `HTTP/1.1 ${status} X\r\nContent-Length: ${Buffer.from(body).length}\r\n` +
        extra +
        "\r\n" +
        body
    )
}

/** A 200 with a platform answer: `code`, and `info` as JSON text (if any). */
export function platformAnswer(code: number, info?: string): string {
    let body = `{"code":${code},"message":"m"`
    if (info) body += `,"info":` + info
    return httpResponse(200, body + "}")
}

/** The platform's answer to an accepted publish. */
export function accepted(messageId: number): string {
    return platformAnswer(0, `{"messageId":${messageId}` + "}")
}

/** The platform's answer to a successful `/auth`. */
export function tokenAnswer(token: string): string {
    return platformAnswer(0, `{"token":"${token}"` + "}")
}

function parseRequest(connection: number, text: string): SeenRequest {
    const end = text.indexOf("\r\n\r\n")
    const head = end < 0 ? text : text.slice(0, end)
    const line = head.split("\r\n")[0].split(" ")
    return {
        connection,
        method: line[0],
        path: line[1],
        head,
        body: end < 0 ? "" : text.slice(end + 4),
    }
}

/** One connection of a {@link ScriptedTransport}. */
export class ScriptedConnection implements Connection {
    private inbox: Buffer[] = []
    /** the client closed it, or another connection replaced it */
    closed = false
    /** the server closed it */
    peerClosed = false
    /** the server closes it silently when the next request arrives */
    dropNext = false

    constructor(
        readonly server: ScriptedTransport,
        readonly id: number
    ) {}

    async send(buf: Buffer) {
        if (this.closed) throw new Error(`socket ${this.id}: old socket used`)
        if (this.peerClosed) throw new Error(`socket ${this.id}: send error -2`)
        const req = parseRequest(this.id, buf.toString())
        if (this.dropNext) {
            this.dropNext = false
            this.peerClosed = true
            this.server.lost.push(req)
            return
        }
        const res = this.server.respond(req)
        if (res === null) {
            this.peerClosed = true
            this.server.lost.push(req)
            return
        }
        this.server.requests.push(req)
        this.inbox.push(Buffer.from(res))
    }

    async recv(timeout?: number): Promise<Buffer> {
        // a socket's bytes come by event: yield, as the device does (and
        // the VM's step budget is per yield)
        await ds.sleep(0)
        if (this.inbox.length) return this.inbox.shift()
        if (this.peerClosed) return null
        return undefined // a scripted server never sends later: a timeout
    }

    async close() {
        this.closed = true
    }
}

/**
 * A transport whose server is a function: each request, sent in one
 * `send`, is answered at once by {@link respond} (a platform success by
 * default). Like the device, one connection at a time: connecting ends the
 * previous one. No timers: a missing answer is a timeout at once.
 */
export class ScriptedTransport implements Transport {
    /** requests the server processed, oldest first */
    requests: SeenRequest[] = []
    /** requests the connection died on, unanswered */
    lost: SeenRequest[] = []
    /** connections opened */
    connections: ScriptedConnection[] = []
    /** the next this many connects fail */
    refuseConnects = 0
    /** answers a request; see {@link Responder} */
    respond: Responder = (req: SeenRequest) => accepted(1)

    async connect(options: SocketConnectOptions): Promise<Connection> {
        if (this.refuseConnects > 0) {
            this.refuseConnects--
            throw new Error(`socket: connect failed`)
        }
        const old = this.current()
        if (old) old.closed = true
        const c = new ScriptedConnection(this, this.connections.length + 1)
        this.connections.push(c)
        return c
    }

    /** The last connection opened, undefined before any. */
    current(): ScriptedConnection {
        return this.connections[this.connections.length - 1]
    }

    /** The server closes the open connection while it is idle. */
    closeIdle() {
        const c = this.current()
        if (c) c.peerClosed = true
    }

    /** Paths of the processed requests, comma-separated. */
    paths(): string {
        return this.requests.map(r => r.path).join(",")
    }
}
