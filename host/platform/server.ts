/**
 * The HTTPS device channel: `POST /auth` and `POST /topic/${topic}` on
 * loopback, with keep-alive, Content-Length on every normal answer, TLS
 * connection counting, throttling and the fault switches carried out.
 */
import https from "node:https"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import { parseAuthRequest, verifyAuth } from "./auth.ts"
import { resultJson, MESSAGES } from "./codes.ts"
import {
    MAX_TIMER_MS,
    POST_FAULTS,
    PRE_FAULTS,
    takeFault,
    takePublishError,
} from "./faults.ts"
import { publishInfoJson } from "./answer-data.ts"
import {
    answerClientError,
    clientErrorStatus,
    timeoutServerOptions,
    type RequestTimeouts,
} from "./http-limits.ts"
import type { AuthRecord, PlatformState, RequestRecord } from "./state.ts"
import {
    headerValues,
    publishContentTypeProblem,
    topicPathProblem,
} from "./publish-request.ts"
import { canPublish, informTopic, topicPermission } from "./topics.ts"
import { historyPostProblem, historyTopic } from "./alink-history.ts"

/** The largest publish body accepted: 128 KB. */
export const MAX_PUBLISH_BYTES = 128 * 1024
/** The largest `/auth` body read. */
export const MAX_AUTH_BYTES = 16 * 1024
/** The interface the channel listens on. */
export const HOST = "127.0.0.1"

export interface ChannelOptions {
    state: PlatformState
    cert: string
    key: string
    /** how long an idle keep-alive connection is kept open */
    keepAliveTimeoutMs: number
    /** how long a request's headers and whole request may take */
    timeouts: RequestTimeouts
    /** the largest publish body accepted (default and most: 128 KB) */
    maxPublishBytes?: number
    /** one line per event, for a console */
    onEvent?: (line: string) => void
}

interface Answer {
    status: number
    code: number
    json: string
}

/** A platform answer: HTTP 200 with the code (and info or detail) in JSON. */
function platformAnswer(
    code: number,
    infoJson?: string,
    reason?: string
): Answer {
    return { status: 200, code, json: resultJson(code, infoJson, reason) }
}

/** `CODE message (reason)`, for the event lines. */
function outcomeText(code: number, reason?: string) {
    return `${code} ${MESSAGES[code]}${reason ? ` (${reason})` : ""}`
}

type Scope = "auth" | "topic" | "other"

const CONN = Symbol("connection")

function readBody(
    req: IncomingMessage,
    keep: number
): Promise<{ buf: Buffer; size: number } | undefined> {
    return new Promise(resolve => {
        const chunks: Buffer[] = []
        let size = 0
        let kept = 0
        req.on("data", (c: Buffer) => {
            size += c.length
            if (kept < keep) {
                const part = c.subarray(0, keep - kept)
                chunks.push(part)
                kept += part.length
            }
        })
        req.on("end", () => resolve({ buf: Buffer.concat(chunks), size }))
        req.on("error", () => resolve(undefined))
        req.on("close", () => {
            if (!req.complete) resolve(undefined)
        })
    })
}

/**
 * `b` in memory of its own: a small Buffer is a slice of a shared 8 KB
 * pool, which a kept body would pin whole, beyond what the log counts.
 */
function ownBytes(b: Buffer): Buffer {
    if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return b
    const own = Buffer.allocUnsafeSlow(b.length)
    b.copy(own)
    return own
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

function htmlError(status: number) {
    const title =
        {
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Temporarily Unavailable",
        }[status] ?? "Error"
    return `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n`
}

/** The HTTPS channel server. */
export class Channel {
    readonly server: https.Server
    port = 0
    private connSeq = 0
    private outageTimer?: NodeJS.Timeout
    private inOutage = false
    private closed = false
    /** the largest publish body accepted */
    private readonly maxPublishBytes: number

    constructor(private o: ChannelOptions) {
        const st = o.state
        this.maxPublishBytes = o.maxPublishBytes ?? MAX_PUBLISH_BYTES
        this.server = https.createServer(
            {
                cert: o.cert,
                key: o.key,
                keepAlive: true,
                ...timeoutServerOptions(o.timeouts),
            },
            (req, res) =>
                this.handle(req, res).catch(e => {
                    this.event(`internal error: ${e?.message ?? e}`)
                    res.destroy()
                })
        )
        this.server.keepAliveTimeout = o.keepAliveTimeoutMs
        this.server.on("secureConnection", (s: Socket) => {
            st.stats.tlsConnections++
            ;(s as any)[CONN] = ++this.connSeq
        })
        this.server.on("clientError", (e: any, socket: Duplex) => {
            // a request Node's parser refused (a raw NUL in the path...) is a
            // parameter error; a slow one times out (408)
            if (e?.code === "ECONNRESET" || !socket.writable)
                return socket.destroy() // the peer went away
            const status = clientErrorStatus(e?.code)
            st.count("http", status)
            if (status === 400) st.count("codes", 10001)
            this.event(`refused a malformed or slow request: ${e?.code ?? e}`)
            answerClientError(
                socket,
                status,
                status === 400
                    ? resultJson(
                          10001,
                          undefined,
                          `malformed request (${e?.code ?? "parse error"})`
                      )
                    : ""
            )
        })
        this.server.on("tlsClientError", () => {
            st.stats.tlsErrors++
        })
    }

    /** Listens on 127.0.0.1:`port` (0: any free port); resolves to the port. */
    listen(port: number): Promise<number> {
        return new Promise((resolve, reject) => {
            const onErr = (e: Error) => reject(e)
            this.server.once("error", onErr)
            this.server.listen(port, HOST, () => {
                this.server.off("error", onErr)
                this.port = (this.server.address() as any).port
                resolve(this.port)
            })
        })
    }

    /** Starts or ends an outage to match `state.faults.outageUntil`. */
    syncOutage() {
        if (this.closed) return
        const until = this.o.state.faults.outageUntil
        const left = until === undefined ? 0 : until - this.o.state.now()
        if (left > 0) {
            clearTimeout(this.outageTimer)
            // looked at again when the timer fires: the platform's clock may
            // have moved, and a timer holds at most MAX_TIMER_MS
            this.outageTimer = setTimeout(
                () => this.syncOutage(),
                Math.min(left, MAX_TIMER_MS)
            )
            if (!this.inOutage) {
                this.inOutage = true
                this.event(`outage for ${left} ms: connections refused`)
                this.server.close()
                this.server.closeAllConnections()
            }
        } else if (this.inOutage) this.endOutage()
    }

    private endOutage() {
        clearTimeout(this.outageTimer)
        this.o.state.faults.outageUntil = undefined
        if (!this.inOutage || this.closed) return
        this.inOutage = false
        this.event("outage over")
        this.server.once("error", e =>
            this.event(`cannot listen again: ${e.message}`)
        )
        this.server.listen(this.port, HOST)
    }

    /** Stops listening and drops every connection (stalled ones included). */
    close(): Promise<void> {
        this.closed = true
        clearTimeout(this.outageTimer)
        return new Promise(resolve => {
            if (!this.server.listening) {
                this.server.closeAllConnections()
                return resolve()
            }
            this.server.close(() => resolve())
            this.server.closeAllConnections()
        })
    }

    private event(line: string) {
        this.o.onEvent?.(line)
    }

    private async handle(req: IncomingMessage, res: ServerResponse) {
        const st = this.o.state
        st.stats.requests++
        const url = req.url ?? "/"
        const path = url.split("?")[0]
        const scope: Scope =
            path === "/auth"
                ? "auth"
                : path.startsWith("/topic/")
                  ? "topic"
                  : "other"
        const rec: RequestRecord = {
            seq: st.nextSeq(),
            time: new Date(st.now()).toISOString(),
            connection: (req.socket as any)[CONN] ?? 0,
            method: req.method ?? "",
            url,
        }
        st.requests.push(rec)
        const body = await readBody(
            req,
            (scope === "auth" ? MAX_AUTH_BYTES : this.maxPublishBytes) + 1
        )
        if (!body) return // the client went away
        rec.wireBytes = headBytes(req) + body.size
        if (st.faults.latencyMs > 0) await sleep(st.faults.latencyMs)
        if (res.destroyed || this.closed) return

        const was = { ...st.faults } // before counting down
        const pre = takeFault(st.faults, PRE_FAULTS, scope)
        if (pre) {
            rec.fault = pre
            st.count("faults", pre)
            this.event(`${req.method} ${url} -> fault ${pre}`)
            switch (pre) {
                case "stall":
                    return // never answer
                case "closeBeforeResponse":
                    req.socket.destroy()
                    return
                case "httpError": {
                    const status = was.httpError?.status ?? 503
                    return this.sendRaw(
                        res,
                        rec,
                        status,
                        "text/html",
                        htmlError(status)
                    )
                }
                case "forceCode": {
                    const code = was.forceCode?.code ?? 10000
                    rec.code = code
                    st.count("codes", code)
                    return this.send(
                        res,
                        rec,
                        platformAnswer(
                            code,
                            undefined,
                            "injected by forceCode"
                        ),
                        undefined
                    )
                }
                case "malformedJson":
                    return this.sendRaw(
                        res,
                        rec,
                        200,
                        "application/json;charset=UTF-8",
                        '{"code":0,"message":"success","info":{"to'
                    )
            }
        }

        const ans =
            scope === "auth"
                ? this.auth(req, body, rec.connection)
                : scope === "topic"
                  ? this.publish(req, body, rec.connection)
                  : {
                        status: 404,
                        code: 10000,
                        json: resultJson(
                            10000,
                            undefined,
                            `no such path ${path}`
                        ),
                    }
        rec.code = ans.code
        st.count("codes", ans.code)
        const post = takeFault(st.faults, POST_FAULTS, scope)
        if (post) {
            rec.fault = post
            st.count("faults", post)
        }
        this.send(res, rec, ans, post)
    }

    private throttled(key: string | undefined): boolean {
        const st = this.o.state
        const now = st.now()
        if (key === undefined) return !st.globalLimiter.tryAcquire("*", now)
        if (st.deviceLimiter.tryAcquire(key, now)) return false
        st.globalLimiter.refund("*") // a refused request uses no global capacity
        return true
    }

    private auth(
        req: IncomingMessage,
        body: { buf: Buffer; size: number },
        connection: number
    ): Answer {
        const st = this.o.state
        const rec: AuthRecord = {
            seq: st.nextSeq(),
            time: new Date(st.now()).toISOString(),
            connection,
            code: 0,
            message: "",
        }
        const done = (
            code: number,
            reason?: string,
            infoJson?: string
        ): Answer => {
            rec.code = code
            rec.message = MESSAGES[code]
            if (reason) rec.reason = reason
            st.auths.push(rec)
            const who = rec.productKey
                ? `${rec.productKey}/${rec.deviceName}`
                : "?"
            this.event(`auth ${who} -> ${outcomeText(code, reason)}`)
            return platformAnswer(code, infoJson, reason)
        }
        if (this.throttled(undefined)) return done(40000, "global rate limit")
        if (req.method !== "POST")
            return done(10001, `method must be POST, got ${req.method}`)
        if (body.size > MAX_AUTH_BYTES)
            return done(10001, `body larger than ${MAX_AUTH_BYTES} bytes`)
        const parsed = parseAuthRequest(req.headers["content-type"], body.buf)
        if (parsed.code !== 0 || !("params" in parsed))
            return done(
                parsed.code,
                "reason" in parsed ? parsed.reason : undefined
            )
        const p = parsed.params
        Object.assign(rec, {
            productKey: p.productKey,
            deviceName: p.deviceName,
            clientId: p.clientId,
            signmethod: p.signmethod,
            version: p.version,
            timestamp: p.timestamp,
        })
        if (this.throttled(`${p.productKey}/${p.deviceName}`))
            return done(40000, "device rate limit")
        const dev = st.findDevice(p.productKey, p.deviceName)
        const v = verifyAuth(p, dev?.deviceSecret, st.now())
        if (v.code !== 0)
            return done(v.code, "reason" in v ? v.reason : undefined)
        const token = st.tokens.issue(p.productKey, p.deviceName, st.now())
        rec.token = token
        return done(0, undefined, `{"token":${JSON.stringify(token)}}`)
    }

    private publish(
        req: IncomingMessage,
        body: { buf: Buffer; size: number },
        connection: number
    ): Answer {
        const st = this.o.state
        const url = req.url ?? ""
        const topic = url.slice("/topic".length)
        let who = "?"
        const done = (
            code: number,
            reason?: string,
            infoJson?: string
        ): Answer => {
            this.event(
                `publish ${who} ${topic} -> ${outcomeText(code, reason)}`
            )
            return platformAnswer(code, infoJson, reason)
        }
        if (this.throttled(undefined)) return done(40000, "global rate limit")
        if (req.method !== "POST")
            return done(10001, `method must be POST, got ${req.method}`)
        if (url.includes("?"))
            return done(10001, "a query string is not allowed on a topic")
        // the request's shape is checked before its token (as the query string
        // always was): path, then Content-Type; then the token, then what
        // depends on the device (ownership, permission, size)
        const badPath = topicPathProblem(topic)
        if (badPath) return done(10001, badPath)
        const badType = publishContentTypeProblem(
            headerValues(req.rawHeaders, "content-type")
        )
        if (badType) return done(10001, badType)
        const pw = req.headers["password"]
        const token = (Array.isArray(pw) ? pw[0] : pw)?.trim()
        if (!token) return done(20002, "no password header")
        const t = st.tokens.check(token, st.now())
        if (t.status === "unknown") return done(20003, "unknown token")
        who = `${t.productKey}/${t.deviceName}`
        if (t.status === "expired") return done(20001, "token expired")
        if (!st.findDevice(t.productKey, t.deviceName))
            return done(20003, "the token's device no longer exists")
        if (this.throttled(who)) return done(40000, "device rate limit")
        const own = [
            `/${t.productKey}/${t.deviceName}/`,
            `/sys/${t.productKey}/${t.deviceName}/`,
        ]
        const inform = informTopic(t.productKey, t.deviceName)
        if (
            topic !== inform &&
            !own.some(pre => topic.startsWith(pre) && topic.length > pre.length)
        )
            return done(10001, `topic ${topic} does not belong to ${who}`)
        const permission = topicPermission(
            st.topicClasses,
            topic,
            t.productKey,
            t.deviceName
        )
        if (permission === undefined)
            return done(
                10001,
                `topic ${topic} is not defined: no topic class of product ${t.productKey} matches it`
            )
        if (!canPublish(permission))
            return done(
                10001,
                `topic ${topic} has subscribe permission only: a device cannot publish to it`
            )
        const limit = this.maxPublishBytes
        if (body.size > limit)
            return done(
                10001,
                limit === MAX_PUBLISH_BYTES
                    ? `body of ${body.size} bytes exceeds the 128 KB limit (${MAX_PUBLISH_BYTES} bytes)`
                    : `body of ${body.size} bytes exceeds the limit of ${limit} bytes`
            )
        if (topic === historyTopic(t.productKey, t.deviceName)) {
            const bad = historyPostProblem(
                body.buf,
                t.productKey,
                t.deviceName,
                st.now()
            )
            if (bad) return done(10001, `history post: ${bad}`)
        }
        if (takePublishError(st.faults)) {
            st.count("faults", "publishError")
            return done(30001, "injected publish error")
        }
        const messageId = st.nextMessageId()
        // the platform consumes a version report (it updates the device's
        // firmware version); it is not device data, so it is kept apart
        if (topic !== inform) st.stats.messages++
        ;(topic === inform ? st.informs : st.messages).push({
            seq: st.nextSeq(),
            time: new Date(st.now()).toISOString(),
            connection,
            productKey: t.productKey,
            deviceName: t.deviceName,
            topic,
            messageId,
            body: ownBytes(body.buf),
        })
        const data = st.faults.answerData
        if (data) st.count("faults", "answerData")
        return done(0, undefined, publishInfoJson(messageId, data))
    }

    private headers(type: string) {
        return {
            "Content-Type": type,
            Date: new Date(this.o.state.now()).toUTCString(),
        }
    }

    private sendRaw(
        res: ServerResponse,
        rec: RequestRecord,
        status: number,
        type: string,
        text: string
    ) {
        const buf = Buffer.from(text, "utf8")
        rec.status = status
        this.o.state.count("http", status)
        res.writeHead(status, {
            ...this.headers(type),
            "Content-Length": buf.length,
        })
        res.end(buf)
    }

    private send(
        res: ServerResponse,
        rec: RequestRecord,
        ans: Answer,
        post: "closeMidResponse" | "chunked" | undefined
    ) {
        const buf = Buffer.from(ans.json, "utf8")
        const type = "application/json;charset=UTF-8"
        rec.status = ans.status
        this.o.state.count("http", ans.status)
        if (post === "chunked") {
            res.writeHead(ans.status, {
                ...this.headers(type),
                "Transfer-Encoding": "chunked",
            })
            const third = Math.ceil(buf.length / 3)
            res.write(buf.subarray(0, third))
            res.write(buf.subarray(third, 2 * third))
            res.end(buf.subarray(2 * third))
        } else if (post === "closeMidResponse") {
            res.writeHead(ans.status, {
                ...this.headers(type),
                "Content-Length": buf.length,
            })
            res.write(buf.subarray(0, buf.length >> 1), () =>
                res.socket?.destroy()
            )
        } else {
            res.writeHead(ans.status, {
                ...this.headers(type),
                "Content-Length": buf.length,
            })
            res.end(buf)
        }
    }
}

/** Bytes of a request's line and headers as a client writes them. */
function headBytes(req: IncomingMessage): number {
    let n = Buffer.byteLength(
        `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n\r\n`
    )
    const raw = req.rawHeaders
    for (let i = 0; i + 1 < raw.length; i += 2)
        n += Buffer.byteLength(`${raw[i]}: ${raw[i + 1]}\r\n`)
    return n
}
