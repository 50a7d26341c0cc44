/**
 * The admin API: plain HTTP on 127.0.0.1, a port of its own, JSON in and
 * out. Read by tests, the benchmark and `npm start`; the routes are listed
 * in docs/reference/emulator.md. A browser page must not reach it: the
 * Host header must name the loopback address and port (no DNS rebinding),
 * and a POST must say it is JSON (a page cannot send that without a
 * preflight). Bodies are capped, slow requests time out.
 */
import http from "node:http"
import type { Platform } from "./platform.ts"
import { FaultInputError } from "./faults.ts"
import { timeoutServerOptions, type RequestTimeouts } from "./http-limits.ts"
import { isJsonContentType } from "./auth.ts"
import { HOST } from "./server.ts"
import { clockOffsetProblem } from "./state.ts"
import { checkedDevice } from "./device-identity.ts"
import { tokenTtlProblem } from "./token-ttl.ts"
import { HttpError, isLoopbackHost, readJsonBody } from "../lib/http-request.ts"
import {
    ListQueryError,
    pageLinks,
    parseListQuery,
    type RecordList,
} from "./list-page.ts"

/** The largest admin request body read: 1 MB. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024

function deviceId(b: any): [string, string] {
    if (typeof b?.productKey !== "string" || typeof b?.deviceName !== "string")
        throw new HttpError(400, "productKey and deviceName are required")
    return [b.productKey, b.deviceName]
}

/** An admin answer with headers beside its JSON value. */
class WithHeaders {
    constructor(
        readonly body: unknown,
        readonly headers: Record<string, string>
    ) {}
}

/**
 * One page of a record list: the records (a JSON array, oldest first), the
 * number of records the list dropped in `X-Dropped-Records`, and the
 * neighbouring pages in `Link`.
 */
function listAnswer(p: Platform, list: RecordList, u: URL): WithHeaders {
    let q
    try {
        q = parseListQuery(list, u.searchParams)
    } catch (e) {
        if (e instanceof ListQueryError) throw new HttpError(400, e.message)
        throw e
    }
    const page = p.page(list, q)
    const link = pageLinks(`/${list}`, q, page)
    return new WithHeaders(page.records, {
        "X-Dropped-Records": String(page.dropped),
        ...(link ? { Link: link } : {}),
    })
}

/** Routes one admin request to the platform; returns the JSON answer. */
async function route(
    p: Platform,
    req: http.IncomingMessage,
    port: number
): Promise<unknown> {
    if (!isLoopbackHost(req.headers.host, port))
        throw new HttpError(
            403,
            `the Host header must be 127.0.0.1:${port}, localhost:${port} or [::1]:${port}`
        )
    if (
        req.method === "POST" &&
        !isJsonContentType(req.headers["content-type"])
    )
        throw new HttpError(
            415,
            "a POST must have Content-Type: application/json"
        )
    const u = new URL(req.url ?? "/", "http://x")
    const r = `${req.method} ${u.pathname.replace(/\/+$/, "") || "/"}`
    switch (r) {
        case "GET /":
            return {
                url: p.url,
                adminUrl: p.adminUrl,
                caFile: p.caFile,
                routes: [
                    "GET /devices",
                    "POST /devices",
                    "POST /remove-device",
                    "GET /auths",
                    "GET /messages",
                    "GET /informs",
                    "GET /requests",
                    "GET /stats",
                    "GET /faults",
                    "POST /faults",
                    "GET /token-ttl",
                    "POST /token-ttl",
                    "POST /expire-token",
                    "POST /clock",
                    "POST /reset",
                ],
            }
        case "GET /devices":
            return p.devices()
        case "POST /devices": {
            const b = await readJsonBody(req, MAX_ADMIN_BODY_BYTES)
            try {
                return p.addDevice(
                    checkedDevice(typeof b?.device === "string" ? b.device : b)
                )
            } catch (e: any) {
                throw new HttpError(400, e.message)
            }
        }
        case "POST /remove-device": {
            const [pk, dn] = deviceId(
                await readJsonBody(req, MAX_ADMIN_BODY_BYTES)
            )
            return { removed: p.removeDevice(pk, dn) }
        }
        case "GET /auths":
        case "GET /messages":
        case "GET /informs":
        case "GET /requests":
            return listAnswer(p, r.slice(5) as RecordList, u)
        case "GET /stats":
            return p.stats()
        case "GET /faults":
            return p.faults()
        case "POST /faults":
            return p.setFaults(await readJsonBody(req, MAX_ADMIN_BODY_BYTES))
        case "GET /token-ttl":
            return { seconds: p.tokenTtlSeconds() }
        case "POST /token-ttl": {
            const b = await readJsonBody(req, MAX_ADMIN_BODY_BYTES)
            const why = tokenTtlProblem("seconds", b?.seconds)
            if (why) throw new HttpError(400, why)
            p.setTokenTtl(b.seconds)
            return { seconds: p.tokenTtlSeconds() }
        }
        case "POST /expire-token": {
            const [pk, dn] = deviceId(
                await readJsonBody(req, MAX_ADMIN_BODY_BYTES)
            )
            return { expired: p.expireToken(pk, dn) }
        }
        case "POST /clock": {
            const b = await readJsonBody(req, MAX_ADMIN_BODY_BYTES)
            const why = clockOffsetProblem(b?.offsetMs)
            if (why) throw new HttpError(400, why)
            p.setClockOffset(b.offsetMs)
            return { offsetMs: b.offsetMs, now: p.now() }
        }
        case "POST /reset": {
            const b = await readJsonBody(req, MAX_ADMIN_BODY_BYTES)
            p.reset({ tokens: b?.tokens === true })
            return { ok: true }
        }
    }
    throw new HttpError(404, `no route ${r}`)
}

/** Starts the admin server for `p` on 127.0.0.1:`port` (0: any free port). */
export async function startAdmin(
    p: Platform,
    port: number,
    timeouts: RequestTimeouts
) {
    const server = http.createServer(
        timeoutServerOptions(timeouts),
        async (req, res) => {
            let status = 200
            let headers: Record<string, string> = {}
            let buf: Buffer
            try {
                let out = await route(p, req, (server.address() as any).port)
                if (out instanceof WithHeaders) {
                    headers = out.headers
                    out = out.body
                }
                buf = Buffer.from(JSON.stringify(out, null, 1), "utf8")
            } catch (e: any) {
                status =
                    e instanceof HttpError
                        ? e.status
                        : e instanceof FaultInputError
                          ? 400
                          : 500
                headers = {}
                buf = Buffer.from(
                    JSON.stringify({ error: e?.message ?? String(e) }, null, 1)
                )
            }
            res.writeHead(status, {
                ...headers,
                "Content-Type": "application/json",
                "Content-Length": buf.length,
                // the rest of a refused body is not read: the connection ends
                ...(req.complete ? {} : { Connection: "close" }),
            })
            res.end(buf)
        }
    )
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(port, HOST, () => {
            server.off("error", reject)
            resolve()
        })
    })
    return server
}
