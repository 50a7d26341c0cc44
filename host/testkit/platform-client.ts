/**
 * Small HTTPS clients for the emulator's tests (and host tools): Node's
 * `https` with the emulator's CA trusted, and a raw TLS client that sends
 * exact bytes and reads the exact answer (to check the wire format).
 */
import https from "node:https"
import tls from "node:tls"
import type { IncomingHttpHeaders } from "node:http"
import { signedAuthBody } from "../platform/signing.ts"
import type { SignMethod } from "../platform/signing.ts"

/** Where the channel is and which CA to trust. */
export interface Target {
    port: number
    ca: string
}

export interface Reply {
    status: number
    headers: IncomingHttpHeaders
    body: Buffer
    text: string
    /** the body parsed, a messageId kept as a string; undefined if not JSON */
    json: any
}

/**
 * Parses a channel answer, keeping `messageId` (a 64-bit integer written as
 * a bare number) as a decimal string.
 */
export function parseChannelJson(text: string): any {
    return JSON.parse(text.replace(/("messageId"\s*:\s*)(\d+)/g, '$1"$2"'))
}

/** A keep-alive agent trusting the emulator's CA, one socket at a time. */
export function keepAliveAgent(t: Target) {
    return new https.Agent({ keepAlive: true, maxSockets: 1, ca: t.ca })
}

/** One HTTPS request to the channel (default POST). */
export function request(
    t: Target,
    path: string,
    o: {
        method?: string
        headers?: Record<string, string | number>
        body?: string | Buffer
        agent?: https.Agent
    } = {}
): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const body =
            o.body === undefined ? undefined : Buffer.from(o.body as any)
        const req = https.request(
            {
                host: "127.0.0.1",
                port: t.port,
                path,
                method: o.method ?? "POST",
                ca: t.ca,
                agent: o.agent ?? false,
                headers: {
                    ...(body ? { "Content-Length": body.length } : {}),
                    ...o.headers,
                },
            },
            res => {
                const chunks: Buffer[] = []
                res.on("data", c => chunks.push(c))
                res.on("error", reject)
                res.on("end", () => {
                    const b = Buffer.concat(chunks)
                    const text = b.toString("utf8")
                    let json: any
                    try {
                        json = parseChannelJson(text)
                    } catch {}
                    resolve({
                        status: res.statusCode ?? 0,
                        headers: res.headers,
                        body: b,
                        text,
                        json,
                    })
                })
            }
        )
        req.on("error", reject)
        req.end(body)
    })
}

/** POST /auth with a JSON body object. */
export function postAuth(
    t: Target,
    body: unknown,
    o: { agent?: https.Agent; headers?: Record<string, string> } = {}
) {
    return request(t, "/auth", {
        agent: o.agent,
        headers: { "Content-Type": "application/json", ...o.headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
    })
}

/** Authenticates a device (signed correctly) and returns its token. */
export async function authenticate(
    t: Target,
    d: { productKey: string; deviceName: string; deviceSecret: string },
    o: { signmethod?: SignMethod; agent?: https.Agent } = {}
): Promise<string> {
    const r = await postAuth(
        t,
        signedAuthBody({ ...d, signmethod: o.signmethod }),
        o
    )
    if (r.json?.code !== 0) throw new Error(`auth failed: ${r.text}`)
    return r.json.info.token
}

/** POST /topic/${topic} (topic with its leading slash) with a token. */
export function publish(
    t: Target,
    topic: string,
    token: string | undefined,
    body: string | Buffer,
    o: { agent?: https.Agent; headers?: Record<string, string> } = {}
) {
    return request(t, `/topic${topic}`, {
        agent: o.agent,
        headers: {
            "Content-Type": "application/octet-stream",
            ...(token === undefined ? {} : { password: token }),
            ...o.headers,
        },
        body,
    })
}

/** A raw HTTP/1.1 answer as read off the wire. */
export interface RawReply {
    status: number
    /** header lines as sent, in order */
    headerLines: string[]
    /** lower-cased header names to values */
    headers: Record<string, string>
    body: Buffer
}

/** A TLS connection on which exact request bytes are written. */
export class RawTlsClient {
    readonly socket: tls.TLSSocket
    private buf = Buffer.alloc(0)
    private waiters: (() => void)[] = []
    ended = false

    constructor(t: Target) {
        this.socket = tls.connect({ host: "127.0.0.1", port: t.port, ca: t.ca })
        this.socket.on("data", d => {
            this.buf = Buffer.concat([this.buf, d])
            this.wake()
        })
        this.socket.on("close", () => {
            this.ended = true
            this.wake()
        })
        this.socket.on("error", () => {})
    }

    private wake() {
        const w = this.waiters
        this.waiters = []
        for (const f of w) f()
    }

    private async more() {
        if (this.ended) throw new Error("connection closed")
        await new Promise<void>(r => this.waiters.push(r))
    }

    /** Writes `raw` and reads one complete answer. */
    async exchange(raw: string | Buffer): Promise<RawReply> {
        this.socket.write(raw)
        let end: number
        while ((end = this.buf.indexOf("\r\n\r\n")) < 0) await this.more()
        const head = this.buf.subarray(0, end).toString("latin1").split("\r\n")
        this.buf = this.buf.subarray(end + 4)
        const status = Number(head[0].split(" ")[1])
        const headers: Record<string, string> = {}
        for (const l of head.slice(1)) {
            const i = l.indexOf(":")
            headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
        }
        let body: Buffer
        if (headers["content-length"] !== undefined) {
            const n = Number(headers["content-length"])
            while (this.buf.length < n) await this.more()
            body = this.buf.subarray(0, n)
            this.buf = this.buf.subarray(n)
        } else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
            const parts: Buffer[] = []
            for (;;) {
                let nl: number
                while ((nl = this.buf.indexOf("\r\n")) < 0) await this.more()
                const size = parseInt(this.buf.subarray(0, nl).toString(), 16)
                while (this.buf.length < nl + 2 + size + 2) await this.more()
                parts.push(this.buf.subarray(nl + 2, nl + 2 + size))
                this.buf = this.buf.subarray(nl + 2 + size + 2)
                if (!size) break
            }
            body = Buffer.concat(parts)
        } else {
            while (!this.ended) await this.more().catch(() => {})
            body = this.buf
            this.buf = Buffer.alloc(0)
        }
        return { status, headerLines: head.slice(1), headers, body }
    }

    close() {
        this.socket.destroy()
    }
}
