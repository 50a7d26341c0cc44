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
import { HttpError, isLoopbackHost, readJsonBody } from "../lib/http-request.ts"

/** The largest admin request body read: 1 MB. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024

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
            const b = await readJsonBody(req, MAX_ADMIN_BODY_BYTES)
            try {
                return p.addDevice(typeof b?.device === "string" ? b.device : b)
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
            return p.setFaults(await readJsonBody(req, MAX_ADMIN_BODY_BYTES))
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
