/**
 * The admin API: plain HTTP on 127.0.0.1, a port of its own, JSON in and
 * out. Read by tests, the benchmark and `npm start`; the routes are listed
 * in README.md ("Platform emulator"). A browser page must not reach it: the
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

/** The largest admin request body read: 1 MB. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024

class HttpError extends Error {
    constructor(
        public status: number,
        msg: string
    ) {
        super(msg)
    }
}

/**
 * Whether a Host header names this server on loopback (`127.0.0.1:PORT`,
 * `localhost:PORT`, `[::1]:PORT`); anything else may be a page that a DNS
 * name of its own led here.
 */
export function isLoopbackHost(host: string | undefined, port: number) {
    const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/i.exec(host ?? "")
    return !!m && Number(m[2]) === port
}

/** The request body as JSON ({} when empty), at most MAX_ADMIN_BODY_BYTES. */
function readJson(req: http.IncomingMessage): Promise<any> {
    return new Promise((resolve, reject) => {
        const tooLarge = () =>
            new HttpError(413, `body larger than ${MAX_ADMIN_BODY_BYTES} bytes`)
        if (Number(req.headers["content-length"]) > MAX_ADMIN_BODY_BYTES)
            return reject(tooLarge()) // not read at all
        const chunks: Buffer[] = []
        let size = 0
        req.on("data", (c: Buffer) => {
            size += c.length
            if (size > MAX_ADMIN_BODY_BYTES) {
                req.pause() // stop reading; the answer closes the connection
                req.removeAllListeners("data")
                chunks.length = 0
                return reject(tooLarge())
            }
            chunks.push(c)
        })
        req.on("error", reject)
        req.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8").trim()
            if (!text) return resolve({})
            try {
                resolve(JSON.parse(text))
            } catch {
                reject(new HttpError(400, "body is not JSON"))
            }
        })
    })
}

function deviceId(b: any): [string, string] {
    if (typeof b?.productKey !== "string" || typeof b?.deviceName !== "string")
        throw new HttpError(400, "productKey and deviceName are required")
    return [b.productKey, b.deviceName]
}

function since(list: any[], q: URLSearchParams) {
    const s = Number(q.get("since") ?? 0)
    return s ? list.filter(r => r.seq > s) : list
}

/** Routes one admin request to the platform; returns the JSON answer. */
async function route(p: Platform, req: http.IncomingMessage, port: number) {
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
                    "POST /expire-token",
                    "POST /clock",
                    "POST /reset",
                ],
            }
        case "GET /devices":
            return p.devices()
        case "POST /devices": {
            const b = await readJson(req)
            try {
                return p.addDevice(typeof b?.device === "string" ? b.device : b)
            } catch (e: any) {
                throw new HttpError(400, e.message)
            }
        }
        case "POST /remove-device": {
            const [pk, dn] = deviceId(await readJson(req))
            return { removed: p.removeDevice(pk, dn) }
        }
        case "GET /auths":
            return since(p.auths(), u.searchParams)
        case "GET /messages":
            return since(p.messages(), u.searchParams).map(m => {
                const { body, ...rest } = m
                return rest
            })
        case "GET /informs":
            return since(p.informs(), u.searchParams).map(m => {
                const { body, ...rest } = m
                return rest
            })
        case "GET /requests":
            return since(p.requests(), u.searchParams)
        case "GET /stats":
            return p.stats()
        case "GET /faults":
            return p.faults()
        case "POST /faults":
            return p.setFaults(await readJson(req))
        case "POST /expire-token": {
            const [pk, dn] = deviceId(await readJson(req))
            return { expired: p.expireToken(pk, dn) }
        }
        case "POST /clock": {
            const b = await readJson(req)
            const why = clockOffsetProblem(b?.offsetMs)
            if (why) throw new HttpError(400, why)
            p.setClockOffset(b.offsetMs)
            return { offsetMs: b.offsetMs, now: p.now() }
        }
        case "POST /reset": {
            const b = await readJson(req)
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
            let out: unknown
            try {
                out = await route(p, req, (server.address() as any).port)
            } catch (e: any) {
                status =
                    e instanceof HttpError
                        ? e.status
                        : e instanceof FaultInputError
                          ? 400
                          : 500
                out = { error: e?.message ?? String(e) }
            }
            const buf = Buffer.from(JSON.stringify(out, null, 1), "utf8")
            res.writeHead(status, {
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
